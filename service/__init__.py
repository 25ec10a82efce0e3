"""Service: compose grounded answers and serve them over HTTP and as web pages."""
