"""Load testing: locust journeys, the run script, budgets and the report writer."""
