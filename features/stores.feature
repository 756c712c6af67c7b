@stores
Feature: The customer store
  Application services keep customers through a store rather than raw queries:
  create, retrieve, count, update, remove and upsert, over whichever adapter
  they are given. Removing a customer only marks them as removed.

  Scenario Outline: Creating and retrieving a customer
    Given the customer book is kept in <backend>
    When the store creates the customer "Anna Schmidt" with email "anna@example.com" from "Berlin"
    Then the store retrieves "Anna Schmidt" with email "anna@example.com"
    And the store counts 1 customer in "Berlin"
    And the store counts 0 customers in "Paris"

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

  Scenario Outline: Updating a customer reports what really changed
    Given the customer book is kept in <backend>
    And the store holds the customer "Bruno Costa" with email "bruno@old.example" from "Paris"
    When the store changes "Bruno Costa" to email "bruno@new.example" and city "Paris"
    Then the store reports that only the email changed, from "bruno@old.example" to "bruno@new.example"
    And the store retrieves "Bruno Costa" with email "bruno@new.example"

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

  Scenario Outline: A removed customer is hidden, not gone
    Given the customer book is kept in <backend>
    And the store holds the customer "Chen Wei" with email "chen@example.com" from "Berlin"
    And the store holds the customer "Dana Levi" with email "dana@example.com" from "Berlin"
    When the store removes "Chen Wei"
    Then the store counts 1 customer in "Berlin"
    And retrieving "Chen Wei" from the store fails because it was not found
    And when asked to include removed customers, the store finds "Chen Wei" marked as removed

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

  Scenario Outline: Upserting by email address creates, then updates
    Given the customer book is kept in <backend>
    When the store upserts "Emil Nowak" with email "emil@example.com" as a "standard" customer
    And the store upserts "Emil Nowak" with email "emil@example.com" as a "gold" customer
    Then the store counts 1 customer in total
    And the store says "Emil Nowak" is a "gold" customer

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

  Scenario Outline: Changing a customer nobody has
    Given the customer book is kept in <backend>
    When the store tries to change the email of a customer nobody has
    Then the attempt is refused because something was not found

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
