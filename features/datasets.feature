@datasets
Feature: Read-only data sets
  Reference data (countries and their cities) is built ahead of time into its
  own SQLite file and shipped with the service. At run time the service reads
  it through an ordinary store, a batch at a time if it is large, and the data
  set refuses any change. Data sets are SQLite by design.

  Background:
    Given the "geo" data set is built from these countries:
      | code | name    |
      | DE   | Germany |
      | FR   | France  |
      | PT   | Portugal |
    And these cities:
      | id | name    | country_code | population |
      | 1  | Berlin  | DE           | 3850000    |
      | 2  | Hamburg | DE           | 1900000    |
      | 3  | Paris   | FR           | 2100000    |
      | 4  | Lyon    | FR           | 520000     |
      | 5  | Porto   | PT           | 230000     |
      | 6  | Munich  | DE           | 1500000    |

  Scenario Outline: The service reads the shipped data set through a store
    Given the service opens the shipped "geo" data set <mode>
    When the service lists the cities of "DE" by population
    Then it sees the cities "Berlin, Hamburg, Munich"
    And the store counts 6 cities in the data set

    @sqlite
    Examples: SQLite
      | mode        |
      | with SQLite |

    @sqlite @async
    Examples: async SQLite
      | mode              |
      | with async SQLite |

  Scenario Outline: A shipped data set refuses changes
    Given the service opens the shipped "geo" data set <mode>
    When the service tries to add the city "Faro" in "PT" to the data set
    Then the attempt is refused because the database is read-only
    And the store counts 6 cities in the data set

    @sqlite
    Examples: SQLite
      | mode        |
      | with SQLite |

    @sqlite @async
    Examples: async SQLite
      | mode              |
      | with async SQLite |

  Scenario Outline: A large data set is read a batch at a time
    Given the service opens the shipped "geo" data set <mode>
    When the service streams every city in batches of 2
    Then it receives 6 cities, in the order of their identifiers

    @sqlite
    Examples: SQLite
      | mode        |
      | with SQLite |

    @sqlite @async
    Examples: async SQLite
      | mode              |
      | with async SQLite |

  Scenario: The service finds the data set's file through the environment
    Given the environment names the "geo" data set's file
    When the service opens the "geo" data set without configuring it in code
    Then the data set is opened read-only from that file
    And it sees 3 countries

  Scenario: A city whose country was never loaded stops the build
    When the "geo" data set is rebuilt with a city "Atlantis" in the unknown country "XX"
    Then the build is refused, naming the table "cities" and the missing parent "countries"
    And the shipped "geo" data set still has 6 cities
