"""Utilities every app may use: paging, QR codes, PDF rendering, file downloads, throttles,
periods and text-message backends. This package imports no app of the project."""
