@search
Feature: Finding customers
  The back office lists customers a page at a time, filtered and sorted, and is
  told how many customers match in total. Nonsense requests are turned away
  with a clear message before they reach the database.

  Background:
    Given the customer book holds these customers:
      | name         | email               | city   | tier     |
      | Anna Schmidt | anna@example.com    | Berlin | gold     |
      | Bruno Costa  | bruno@example.com   | Paris  | standard |
      | Chen Wei     | chen@example.com    | Berlin | standard |
      | Dana Levi    | dana@example.com    | Berlin | gold     |
      | Emil Nowak   | emil@example.com    | Berlin | standard |
      | Fatima Zahra | fatima@example.com  | Madrid | gold     |
      | 100% Organic | organic@example.com | Madrid | standard |
      | 1000 Fruits  | fruits@example.com  | Madrid | standard |

  Scenario Outline: Customers of one city, a page at a time
    Given the customer book is kept in <backend>
    When I list the customers in "Berlin" by name, 2 per page, page 2
    Then I see "Dana Levi, Emil Nowak"
    And I am told 4 customers match

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

  Scenario Outline: The last page can be short
    Given the customer book is kept in <backend>
    When I list the customers in "Berlin" by name, 3 per page, page 2
    Then I see "Emil Nowak"
    And I am told 4 customers match

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

  Scenario Outline: Gold customers, newest name first
    Given the customer book is kept in <backend>
    When I list the "gold" customers by name in descending order
    Then I see "Fatima Zahra, Dana Levi, Anna Schmidt"
    And I am told 3 customers match

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

  Scenario Outline: Looking for part of a name, in a choice of cities
    Given the customer book is kept in <backend>
    When I look for customers whose name contains "an" and who live in one of "Berlin, Paris"
    Then I see "Anna Schmidt, Dana Levi"

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

  Scenario Outline: Wildcard characters in a search are taken literally
    Given the customer book is kept in <backend>
    When I look for customers whose name contains "100%"
    Then I see "100% Organic"

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

  Scenario Outline: Sorting by something customers do not have is refused
    Given the customer book is kept in <backend>
    When I list the customers sorted by "shoe_size"
    Then the request is refused as invalid, naming "shoe_size"

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

  Scenario Outline: Asking for an empty page size is refused
    Given the customer book is kept in <backend>
    When I list the customers 0 per page
    Then the request is refused as invalid, naming "page_size"

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
