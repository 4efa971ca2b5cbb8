"""Flask and Socket.IO: pages, the write API, the console, and the server."""
