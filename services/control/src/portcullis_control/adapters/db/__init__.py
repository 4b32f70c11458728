"""The relational store: tables, engine and migrations, and one module of queries per
kind of object."""
