"""Files handed to Locust with ``-f`` next to the project's locustfile.

They run inside the Locust process (and its workers), never inside stagewise:
stagewise only passes their paths, so importing stagewise never imports Locust.
"""
