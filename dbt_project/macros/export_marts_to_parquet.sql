{#- on-run-end: copy every mart built successfully in this run to <export_dir>/<mart>.parquet.
    export_dir defaults to an `exports` folder beside the warehouse file (data/exports for
    data/warehouse.duckdb); set var export_dir to move it, or export_parquet: false to skip. -#}
{% macro export_marts_to_parquet(results) %}
    {%- if execute and var('export_parquet', true) -%}
        {%- set export_dir = var('export_dir', none)
            or (target.path | replace('\\', '/')).rsplit('/', 1)[0] ~ '/exports' -%}
        {%- set quoted_dir = export_dir | replace("'", "''") -%}
        {%- set marts = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'model' and result.node.schema == 'marts'
                and result.status == 'success' -%}
                {%- do marts.append(result.node.alias or result.node.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if marts -%}
            {#- An empty partitioned COPY is DuckDB's way to create the folder (one level). -#}
            {%- do run_query(
                "copy (select 1 as part, 1 as payload where false) to '" ~ quoted_dir
                ~ "' (format parquet, partition_by (part), overwrite_or_ignore true)"
            ) -%}
            {%- for mart in marts -%}
                {%- do run_query(
                    "copy marts." ~ mart ~ " to '" ~ quoted_dir ~ "/" ~ mart
                    ~ ".parquet' (format parquet, compression zstd)"
                ) -%}
            {%- endfor -%}
            {%- do log("exported " ~ (marts | length) ~ " marts as Parquet to " ~ export_dir, info=true) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
