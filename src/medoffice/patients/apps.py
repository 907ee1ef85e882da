from django.apps import AppConfig

from medoffice.core.modules import Module


class PatientsConfig(AppConfig):
    name = "medoffice.patients"
    label = "patients"
    verbose_name = "Patients"
    medoffice_module = Module(
        code="patients",
        label="Patients",
        url_prefix="patients",
        nav_url="patients:search",
        nav_permissions=("patients.view",),
        order=10,
        api_prefixes=("patients", "coverages", "payers"),
    )

    def ready(self) -> None:
        from medoffice.core import permissions
        from medoffice.patients.permissions import PatientsPerm

        permissions.register(self.label, PatientsPerm)

        from medoffice.patients import demo, tiles  # noqa: F401  (demo step, dashboard tiles)

        demo.register()
