pytest_plugins = [
    "medoffice.testing.db_restore",
    "medoffice.testing.required",
    "medoffice.testing.fixtures",
    "medoffice.testing.patients_fixtures",
    "medoffice.testing.scheduling_fixtures",
    "medoffice.testing.reception_fixtures",
    "medoffice.testing.sftp_server",
]
