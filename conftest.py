pytest_plugins = [
    "medoffice.testing.fixtures",
    "medoffice.testing.patients_fixtures",
    "medoffice.testing.scheduling_fixtures",
    "medoffice.testing.reception_fixtures",
]
