@crud
Feature: Keeping customer records
  The shop saves customers, finds them again, changes and removes them through
  its database adapter. It works the same on PostgreSQL and SQLite, from plain
  code and from asyncio code.

  Scenario Outline: A new customer is saved and can be found again
    Given the customer book is kept in <backend>
    When I add the customer "Anna Schmidt" with email "anna@example.com" from "Berlin"
    Then the customer has an identifier and a creation time
    And looking the customer up again gives "Anna Schmidt" from "Berlin"

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

  Scenario Outline: Changing a customer's email address
    Given the customer book is kept in <backend>
    And the customer "Bruno Costa" with email "bruno@old.example"
    When I change the email address of "Bruno Costa" to "bruno@new.example"
    Then the customer "Bruno Costa" has the email address "bruno@new.example"
    And the customer's last change time has moved forward

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

  Scenario Outline: Removing a customer
    Given the customer book is kept in <backend>
    And the customer "Chen Wei" with email "chen@example.com"
    And the customer "Dana Levi" with email "dana@example.com"
    When I remove the customer "Chen Wei"
    Then there is no customer "Chen Wei"
    And the customer book holds 1 customer

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

  Scenario Outline: Several customers are saved in one go
    Given the customer book is kept in <backend>
    When I add these customers in one go:
      | name         | email              | city   |
      | Emil Nowak   | emil@example.com   | Warsaw |
      | Fatima Zahra | fatima@example.com | Rabat  |
      | Gus Berg     | gus@example.com    | Oslo   |
    Then the customer book holds 3 customers
    And the customer "Fatima Zahra" lives in "Rabat"

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

  Scenario Outline: A large import is stored whole or not at all
    Given the customer book is kept in <backend>
    When I import 500 generated customers in one go
    Then the customer book holds 500 customers
    When I import 500 more generated customers, the last one with an email already taken
    Then the import is refused because the email address is taken
    And the customer book holds 500 customers
    When I remove the first imported customer
    Then the customer book holds 499 customers

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

  Scenario Outline: Looking up an identifier nobody has finds nothing
    Given the customer book is kept in <backend>
    When I look up a customer by an identifier nobody has
    Then no customer is found

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
