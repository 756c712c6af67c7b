@units
Feature: One request, one unit of work
  A web request (or a background job) looks customers up, changes one, adds another.
  All of it shares one connection. A change the request forgot to save dies with the
  request: the next request on the same worker never writes it. A request that runs
  as one transaction keeps nothing when it fails part-way.

  Scenario Outline: A request's calls share one pooled connection
    Given the customer book is kept in <backend>
    And the customer "Ana Lima" with email "ana@shop.example"
    When one request looks "Ana Lima" up 5 times and adds the customer "Bea Ruiz"
    Then the request took 1 connection from the pool
    And the customer "Bea Ruiz" is saved
    And no connection is left checked out

    @postgres
    Examples: PostgreSQL
      | backend    |
      | PostgreSQL |

    @postgres @async
    Examples: async PostgreSQL
      | backend          |
      | async PostgreSQL |

    @sqlite
    Examples: SQLite
      | backend |
      | SQLite  |

    @sqlite @async
    Examples: async SQLite
      | backend      |
      | async SQLite |

  Scenario Outline: A change nobody saved is never written by the next request
    Given the customer book is kept in <backend>
    And the customer "Ana Lima" with email "ana@shop.example"
    When a request changes the email of "Ana Lima" to "wrong@shop.example" and forgets to save it
    And the next request adds the customer "Bea Ruiz"
    Then "Ana Lima" still has the email "ana@shop.example"
    And the customer "Bea Ruiz" is saved

    @postgres
    Examples: PostgreSQL
      | backend    |
      | PostgreSQL |

    @postgres @async
    Examples: async PostgreSQL
      | backend          |
      | async PostgreSQL |

    @sqlite
    Examples: SQLite
      | backend |
      | SQLite  |

    @sqlite @async
    Examples: async SQLite
      | backend      |
      | async SQLite |

  Scenario Outline: A request run as one transaction keeps nothing when it fails
    Given the customer book is kept in <backend>
    When a request run as one transaction adds the customer "Cid Moura" and then fails with "out of stock"
    Then the failure reaches me unchanged, saying "out of stock"
    And there is no customer "Cid Moura"
    And no connection is left checked out

    @postgres
    Examples: PostgreSQL
      | backend    |
      | PostgreSQL |

    @postgres @async
    Examples: async PostgreSQL
      | backend          |
      | async PostgreSQL |

    @sqlite
    Examples: SQLite
      | backend |
      | SQLite  |

    @sqlite @async
    Examples: async SQLite
      | backend      |
      | async SQLite |
