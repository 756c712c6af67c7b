@async
Feature: Working with asyncio
  Async services do many things at once. Every task gets its own session and
  its own transaction, a cancelled task leaves nothing half-done behind, and
  the connection it held is not left broken for the next caller.

  Scenario Outline: Concurrent signups do not share a transaction
    Given the customer book is kept in <backend>
    When "Anna Schmidt" and "Bruno Costa" sign up at the same time and Bruno's signup fails with "card expired"
    Then the customer "Anna Schmidt" is saved
    And there is no customer "Bruno Costa"

    @postgres @async
    Examples: async PostgreSQL
      | backend          |
      | async PostgreSQL |

    @postgres @async @psycopg
    Examples: async PostgreSQL on psycopg
      | backend                     |
      | async PostgreSQL on psycopg |

    @sqlite @async
    Examples: async SQLite
      | backend      |
      | async SQLite |

  Scenario Outline: A cancelled signup leaves nothing behind
    Given the customer book is kept in <backend>
    When a signup of "Chen Wei" is cancelled while it waits for the payment provider
    Then the signup was cancelled
    And there is no customer "Chen Wei"
    And the customer book still accepts the customer "Dana Levi"

    @postgres @async
    Examples: async PostgreSQL
      | backend          |
      | async PostgreSQL |

    @postgres @async @psycopg
    Examples: async PostgreSQL on psycopg
      | backend                     |
      | async PostgreSQL on psycopg |

    @sqlite @async
    Examples: async SQLite
      | backend      |
      | async SQLite |

  Scenario Outline: Many lookups at the same time
    Given the customer book is kept in <backend>
    And the customer book holds 12 numbered customers
    When I look all of them up at the same time
    Then every lookup finds its own customer

    @postgres @async
    Examples: async PostgreSQL
      | backend          |
      | async PostgreSQL |

    @postgres @async @psycopg
    Examples: async PostgreSQL on psycopg
      | backend                     |
      | async PostgreSQL on psycopg |

    @sqlite @async
    Examples: async SQLite
      | backend      |
      | async SQLite |

  # SQLite lets one transaction write at a time, so a helper task cannot write while its parent's
  # transaction is open: on SQLite it would wait for the lock. This one is for PostgreSQL.
  Scenario Outline: A task started inside a transaction gets a session of its own
    Given the customer book is kept in <backend>
    When inside a transaction that adds "Emil Nowak" a helper task adds "Fatima Zahra" and the transaction then fails
    Then there is no customer "Emil Nowak"
    And the customer "Fatima Zahra" is saved

    @postgres @async
    Examples: async PostgreSQL
      | backend          |
      | async PostgreSQL |

    @postgres @async @psycopg
    Examples: async PostgreSQL on psycopg
      | backend                     |
      | async PostgreSQL on psycopg |
