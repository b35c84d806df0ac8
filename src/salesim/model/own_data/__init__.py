"""A company's own data files, read and checked; the model applies them (``model.data_files``).

A generic checked table reader (``tables``), the customer book (``customers``) and the staff
roster (``roster``).
"""
