{#- on-run-end: drop the staging tables dbt-duckdb leaves behind (a Python incremental model
    writes its batch to `<model>__dbt_tmp<timestamp>` in the main schema and keeps it). -#}
{% macro drop_dbt_temp_tables() %}
    {%- if execute -%}
        {%- set leftovers = run_query(
            "select schema_name, table_name from duckdb_tables()
             where not temporary and table_name like '%\\_\\_dbt\\_tmp%' escape '\\'"
        ) -%}
        {%- for row in leftovers -%}
            {%- do run_query('drop table if exists "' ~ row[0] ~ '"."' ~ row[1] ~ '"') -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

{#- on-run-end: the descriptions of the raw sources (models/staging/hub/_hub__sources.yml) as
    database comments, for the raw tables that exist; dbt's persist_docs covers only what
    dbt builds. -#}
{% macro persist_source_docs() %}
    {%- if execute -%}
        {%- set existing = run_query(
            "select schema_name || '.' || table_name from duckdb_tables() where not temporary"
        ).columns[0].values() -%}
        {%- for source in graph.sources.values() -%}
            {%- set name = source.schema ~ '.' ~ source.identifier -%}
            {%- if name in existing -%}
                {%- do run_query("comment on table " ~ name ~ " is '"
                    ~ (source.description | replace("'", "''") | trim) ~ "'") -%}
                {%- for column in source.columns.values() -%}
                    {%- do run_query("comment on column " ~ name ~ "." ~ column.name ~ " is '"
                        ~ (column.description | replace("'", "''") | trim) ~ "'") -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
