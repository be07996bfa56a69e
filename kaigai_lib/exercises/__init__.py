"""Exercises: the exercise spec (YAML), its widget, the classroom (courses, grading) and exercise pages.

Imports teaching and the layers below.
"""
