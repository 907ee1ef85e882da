pytest_plugins = ["medoffice.testing.fixtures"]
