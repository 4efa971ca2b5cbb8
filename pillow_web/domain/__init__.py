"""What a message, a state and the catalog are: no Flask, Azure or gevent here."""
