"""The paper's genetic analyses as plain Python over the warehouse marts (no Dagster here).

`relatives` samples related pairs from the family forest in SQL, `similarity` scores them,
`drift` measures trait mutation and directed drift, `report` draws and writes the report.
"""
