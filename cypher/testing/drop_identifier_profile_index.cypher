// Tests only: drop one of the schema's indexes by hand, as an operator might.
DROP INDEX identifier_profile IF EXISTS
