@errors
Feature: Clear errors when the database says no
  Whatever the database and driver, a refusal arrives as one of the library's
  typed errors. Each carries an HTTP status an API can return as it is, never
  reveals the values that were sent, and keeps the database's own error as
  its cause for the logs.

  Scenario Outline: An email address can only be used once
    Given the customer book is kept in <backend>
    And the customer "Anna Schmidt" with email "anna@example.com"
    When I try to add the customer "Anna Berg" with email "anna@example.com"
    Then the attempt is refused because the customer already exists
    And the refusal also counts as a database integrity error
    And the refusal has HTTP status 409
    And the refusal does not reveal "anna@example.com"
    And the database's own error is kept as the cause of the refusal

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

  Scenario Outline: An order needs a customer who exists
    Given the customer book is kept in <backend>
    When I try to record the order "ORD-9" for a customer who does not exist
    Then the attempt is refused because something was not found
    And the refusal has HTTP status 404
    And there is no order "ORD-9"

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

  Scenario Outline: A customer who still has orders cannot be removed
    Given the customer book is kept in <backend>
    And the customer "Anna Schmidt" with email "anna@example.com"
    And "Anna Schmidt" has placed the order "ORD-7"
    When I try to remove the customer "Anna Schmidt"
    Then the attempt is refused because it breaks a database constraint
    And the customer "Anna Schmidt" is saved

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

  Scenario Outline: A read-only database refuses writes
    Given the customer book is kept in <backend>
    And a read-only connection to the customer book
    When I try to add the customer "Chen Wei" through the read-only connection
    Then the attempt is refused because the database is read-only
    And the refusal has HTTP status 403
    And the customer book holds 0 customers

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

  Scenario Outline: A read-only database still answers questions
    Given the customer book is kept in <backend>
    And the customer "Dana Levi" with email "dana@example.com"
    And a read-only connection to the customer book
    When I look up "Dana Levi" through the read-only connection
    Then the read-only connection finds "dana@example.com"

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
