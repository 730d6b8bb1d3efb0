"""Shared contract test mixins, one per protocol (as implicit's ``tests/recommender_base_test.py``).

A mixin is not collected itself (its name does not start with ``Test`` and its module is not a
``test_*.py`` file); each implementation's test class inherits it and supplies the object under
test, so every implementation is held to the same checks.
"""
