"""Utilities every app may use: paging, QR codes, PDF rendering, file downloads, throttles,
the client's address behind trusted proxies, the request body cap, periods and text-message
backends. This package imports no app of the project."""
