@transactions
Feature: All-or-nothing changes
  Signing up a customer writes the customer and a first order. Either both are
  kept or neither is. An optional extra step may fail without spoiling the
  signup, and the welcome email goes out only once the signup is really saved.

  Scenario Outline: A customer and the first order are saved together
    Given the customer book is kept in <backend>
    When I sign up "Bruno Costa" with a first order "ORD-1" in one transaction
    Then the customer "Bruno Costa" is saved
    And "Bruno Costa" has 1 order

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

  Scenario Outline: A failure part-way through keeps nothing
    Given the customer book is kept in <backend>
    When signing up "Bruno Costa" with a first order "ORD-1" fails with "payment declined" after both were written
    Then the failure reaches me unchanged, saying "payment declined"
    And there is no customer "Bruno Costa"
    And there is no order "ORD-1"

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

  Scenario Outline: A failed optional step does not spoil the signup
    Given the customer book is kept in <backend>
    And the customer "Anna Schmidt" with email "anna@example.com"
    When I sign up "Bruno Costa" and, as an optional extra step, try to register "anna@example.com" again
    Then the optional step failed because the customer already exists
    And the customer "Bruno Costa" is saved
    And the customer book holds 2 customers

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

  Scenario Outline: The welcome email goes out after the signup is saved
    Given the customer book is kept in <backend>
    When I sign up "Bruno Costa" in a transaction that sends a welcome email once it is saved
    Then 1 welcome email was sent
    And when it was sent, "Bruno Costa" was already visible to everyone

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

  Scenario Outline: No welcome email when the signup is rolled back
    Given the customer book is kept in <backend>
    When a signup of "Bruno Costa" that sends a welcome email once it is saved fails with "payment declined"
    Then 0 welcome emails were sent
    And there is no customer "Bruno Costa"

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

  Scenario Outline: A welcome email scheduled by a failed optional step is not sent
    Given the customer book is kept in <backend>
    And the customer "Anna Schmidt" with email "anna@example.com"
    When I sign up "Bruno Costa" and an optional step that sends a welcome email to "anna@example.com" fails
    Then 0 welcome emails were sent
    And the customer "Bruno Costa" is saved

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

  Scenario Outline: The shop's transaction decorator rolls a failed signup back
    Given the customer book is kept in <backend>
    And the shop's default database is this customer book
    When a signup of "Bruno Costa" decorated with the shop's transaction decorator fails with "out of stock"
    Then the failure reaches me unchanged, saying "out of stock"
    And there is no customer "Bruno Costa"

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
