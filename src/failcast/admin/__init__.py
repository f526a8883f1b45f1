"""Platform administration: the operators of an installation manage users, orgs and plans."""
