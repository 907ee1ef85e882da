from django.urls import path

from medoffice.reception import views, views_books, views_wall

app_name = "reception"
urlpatterns = [
    path("", views.flow_board, name="flow_board"),
    path("wall-displays/", views_wall.wall_links, name="wall_links"),
    path("wall/<str:token>/", views_wall.wall_display, name="wall_display"),
    path("arrivals/", views.arrivals, name="arrivals"),
    path("flow/<int:appointment_id>/advance/", views.flow_advance, name="flow_advance"),
    path("check-in/<int:appointment_id>/", views.check_in, name="check_in"),
    path("check-out/<int:appointment_id>/", views.check_out, name="check_out"),
    path("chart-prep/", views.chart_prep, name="chart_prep"),
    path("forms/", views.form_types, name="form_types"),
    path("forms/<int:form_type_id>/", views.form_types, name="form_type"),
    path("accounts/<int:patient_id>/", views.patient_desk, name="patient_desk"),
    path("accounts/<int:patient_id>/payment/", views.payment_new, name="payment_new"),
    path("payments/<int:payment_id>/", views.receipt, name="receipt"),
    path("payments/<int:payment_id>/receipt.pdf", views.receipt_pdf_view, name="receipt_pdf"),
    path("payments/<int:payment_id>/void/", views_books.payment_void, name="payment_void"),
    path("accounts/<int:patient_id>/refund/", views_books.refund_new, name="refund_new"),
    path("refunds/<int:refund_id>/", views_books.refund_detail, name="refund"),
    path("refunds/<int:refund_id>/receipt.pdf", views_books.refund_receipt_view, name="refund_pdf"),
    path("drawer/", views_books.drawer, name="drawer"),
    path("deposits/", views_books.deposits, name="deposits"),
    path("deposits/<int:deposit_id>/", views_books.deposit_detail, name="deposit"),
    path("deposits/<int:deposit_id>/slip.pdf", views_books.deposit_slip, name="deposit_slip"),
]
