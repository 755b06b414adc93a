import gc

from mediation import create_app

app = create_app()
# The start-up objects (modules, the app, SQLAlchemy's metadata: ~180 000) leave the collector's
# generations: full collections, every few heavy requests, no longer traverse them (~130 ms each).
gc.freeze()
