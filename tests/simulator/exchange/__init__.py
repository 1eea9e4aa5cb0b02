"""The Exchange side of the simulator: the organisation's database objects in Active Directory (model.py), ESE files on the
hosts (ese.py), the Information Store on a host (store.py) and the Exchange cmdlets the modules call (cmdlets.py, shell.py).

Facts and sources: docs/databases.md of the collection and the project's exchange-recovery-facts.md sections 4 and 5.
"""
