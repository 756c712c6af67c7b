@config
Feature: Configuration from environment variables and a connection string
  Operators configure the database through environment variables, a ".env"
  file or a single connection string, whichever they prefer. Settings given in
  code win over the environment, which wins over the ".env" file. The password
  never appears in anything the settings print, log or report.

  Scenario: Separate settings are read from the environment
    Given the environment variables:
      | name                          | value       |
      | POSTGRES_SQLALCHEMY__HOST     | db.internal |
      | POSTGRES_SQLALCHEMY__PORT     | 6543        |
      | POSTGRES_SQLALCHEMY__DATABASE | shop        |
      | POSTGRES_SQLALCHEMY__USERNAME | shop_app    |
      | POSTGRES_SQLALCHEMY__PASSWORD | s3cret-Pa55 |
    When the application loads its settings
    Then the PostgreSQL settings are:
      | setting  | value       |
      | HOST     | db.internal |
      | PORT     | 6543        |
      | DATABASE | shop        |
      | USERNAME | shop_app    |
    And with the password masked, the connection string is "postgresql+psycopg://shop_app:***@db.internal:6543/shop"

  Scenario: One connection string fills in every setting
    Given the environment variable "POSTGRES_SQLALCHEMY__POSTGRES_DSN" is "postgresql+asyncpg://reporter:p%40ss%2Fword@replica.internal:5433/sales"
    When the application loads its settings
    Then the PostgreSQL settings are:
      | setting           | value              |
      | HOST              | replica.internal   |
      | PORT              | 5433               |
      | DATABASE          | sales              |
      | USERNAME          | reporter           |
      | ASYNC_DRIVER_NAME | postgresql+asyncpg |
    And the PostgreSQL password is "p@ss/word"

  Scenario: Special characters in credentials are quoted in the connection string
    When the application is configured in code with user "shop app" and password "p@ss:/word#1"
    Then with the password masked, the connection string is "postgresql+psycopg://shop%20app:***@localhost:5432/postgres"
    And reading the full connection string back gives user "shop app" and password "p@ss:/word#1"

  Scenario: The password never shows in what the settings print
    Given the environment variable "POSTGRES_SQLALCHEMY__PASSWORD" is "Hunter2-Sup3r-Secret"
    When the application loads its settings
    Then "Hunter2-Sup3r-Secret" appears nowhere in the printed settings, the masked connection string or the settings as JSON

  Scenario: A broken setting is reported by name without revealing the password
    Given the environment variables:
      | name                          | value                |
      | POSTGRES_SQLALCHEMY__PASSWORD | Hunter2-Sup3r-Secret |
      | POSTGRES_SQLALCHEMY__PORT     | not-a-port           |
    When the application tries to load its settings
    Then loading fails with a configuration error naming "POSTGRES_SQLALCHEMY.PORT"
    And the error does not reveal "Hunter2-Sup3r-Secret"

  Scenario: A malformed connection string is refused without echoing it
    Given the environment variable "POSTGRES_SQLALCHEMY__POSTGRES_DSN" is "mysql://root:Hunter2-Sup3r-Secret@db/shop"
    When the application tries to load its settings
    Then loading fails with a configuration error naming "POSTGRES_DSN"
    And the error does not reveal "Hunter2-Sup3r-Secret"

  Scenario: Settings given in code beat the environment, which beats the .env file
    Given a ".env" file containing:
      | name                          | value       |
      | POSTGRES_SQLALCHEMY__HOST     | from-dotenv |
      | POSTGRES_SQLALCHEMY__PORT     | 7000        |
      | POSTGRES_SQLALCHEMY__DATABASE | dotenv_db   |
    And the environment variables:
      | name                          | value    |
      | POSTGRES_SQLALCHEMY__PORT     | 7001     |
      | POSTGRES_SQLALCHEMY__DATABASE | env_db   |
    When the application loads its settings with the database "code_db" given in code
    Then the PostgreSQL settings are:
      | setting  | value       |
      | HOST     | from-dotenv |
      | PORT     | 7001        |
      | DATABASE | code_db     |

  Scenario: SQLite settings from the environment
    Given the environment variables:
      | name                         | value                           |
      | SQLITE_SQLALCHEMY__DATABASE  | /srv/shop/catalogue.sqlite3     |
      | SQLITE_SQLALCHEMY__READ_ONLY | true                            |
    When the application loads its settings
    Then the SQLite settings are:
      | setting   | value                       |
      | DATABASE  | /srv/shop/catalogue.sqlite3 |
      | READ_ONLY | True                        |

  Scenario Outline: An application configured only through the environment works with its database
    Given the customer book is kept in <backend>
    And the environment points the application at the customer book
    When the application starts with the settings it loads
    Then its database adapter, built without arguments, reports the database healthy
    And through that adapter it saves the customer "Gus Berg" and finds him again

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
