@contexts
Feature: Request contexts
  Every request the shop handles runs in a context of its own. The context knows
  who is asking and cannot be talked into believing otherwise, opens resources
  only when they are first needed and closes them when the request ends, and,
  with the transaction middleware, saves all of a request's changes or none.

  Scenario: Services know who is asking
    Given the shop's data manager with a greeting service
    When "bob" asks the greeting service for a greeting
    Then the greeting is "Hello, bob"
    And when "alice" asks, the greeting is "Hello, alice"

  Scenario: What a request knows about itself cannot be changed
    Given the shop's data manager with a greeting service
    When a request by "bob" tries to change who is asking to "mallory"
    Then the change is refused and the request still belongs to "bob"

  Scenario: Resources are opened on first use and closed when the request ends
    Given the shop's data manager with an audit log resource
    When a request that never writes to the audit log ends
    And a request that writes to the audit log twice ends
    Then the audit log was opened once and closed once
    And it recorded 2 entries

  Scenario: Using a service outside any request is refused
    Given the shop's data manager with a greeting service
    When the greeting service is asked for a greeting outside any request
    Then the attempt is refused because no request is active

  Scenario Outline: All of a request's changes are saved together
    Given the customer book is kept in <backend>
    And the shop's data manager runs each request in one transaction
    When a request signs up "Bruno Costa" with a first order "ORD-1"
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

  Scenario Outline: A failed request keeps nothing
    Given the customer book is kept in <backend>
    And the shop's data manager runs each request in one transaction
    When a request signs up "Bruno Costa" with a first order "ORD-1" and then fails with "payment declined"
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
