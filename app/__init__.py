"""Flask and the command line, nothing else: the HTTP faces in app/api/, the click commands in
app/cli/, and every setting both read in settings.py. Decisions are in graph/."""
