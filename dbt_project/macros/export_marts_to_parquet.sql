{#- on-run-end: copy each mart this run changed to <export_dir>/<mart>.parquet.
    export_dir defaults to an `exports` folder beside the warehouse file (data/exports for
    data/warehouse.duckdb); set var export_dir to move it, or export_parquet: false to skip.
    A mart is left as it is when its file exists and the run did not change it: an
    incremental mart built incrementally with no changed key (changed_rows.sql), or a table
    whose content fingerprint equals the one stored in its file. A full refresh exports all. -#}
{% macro export_marts_to_parquet(results) %}
    {%- if execute and var('export_parquet', true) -%}
        {%- set export_dir = var('export_dir', none)
            or (target.path | replace('\\', '/')).rsplit('/', 1)[0] ~ '/exports' -%}
        {%- set quoted_dir = export_dir | replace("'", "''") -%}
        {%- set marts = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'model' and result.node.schema == 'marts'
                and result.status == 'success' -%}
                {%- do marts.append(result.node) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if marts -%}
            {#- An empty partitioned COPY is DuckDB's way to create the folder (one level). -#}
            {%- do run_query(
                "copy (select 1 as part, 1 as payload where false) to '" ~ quoted_dir
                ~ "' (format parquet, partition_by (part), overwrite_or_ignore true)"
            ) -%}
            {%- set exported = [] -%}
            {%- for node in marts -%}
                {%- set mart = node.alias or node.name -%}
                {%- set file = quoted_dir ~ "/" ~ mart ~ ".parquet" -%}
                {%- set incremental = incremental_node_of(api.Relation.create(
                    database=node.database, schema=node.schema, identifier=mart)) -%}
                {%- set fingerprint = none if incremental else run_query(
                    "select count(*) || ':' || coalesce(sum(hash(t)::hugeint), 0)
                     from marts." ~ mart ~ " as t").columns[0].values()[0] -%}
                {%- set exists = run_query("select count(*) from glob('" ~ file ~ "')")
                    .columns[0].values()[0] > 0 -%}
                {%- set unchanged = false -%}
                {%- if exists and not flags.FULL_REFRESH -%}
                    {%- if incremental -%}
                        {%- set unchanged = run_query(
                            "select exists (select 1 from intermediate.dbt_incremental_builds
                                            where model_name = '" ~ mart ~ "'
                                              and invocation_id = '" ~ invocation_id ~ "')
                                and not exists (select 1 from intermediate.dbt_changed_keys
                                                where model_name = '" ~ mart ~ "')"
                        ).columns[0].values()[0] -%}
                    {%- else -%}
                        {%- set unchanged = run_query(
                            "select coalesce(max(value::varchar) = '" ~ fingerprint ~ "', false)
                             from parquet_kv_metadata('" ~ file ~ "')
                             where key::varchar = 'hubgenome_fingerprint'"
                        ).columns[0].values()[0] -%}
                    {%- endif -%}
                {%- endif -%}
                {%- if not unchanged -%}
                    {%- do run_query(
                        "copy marts." ~ mart ~ " to '" ~ file ~ "' (format parquet, compression zstd"
                        ~ (", kv_metadata {hubgenome_fingerprint: '" ~ fingerprint ~ "'}" if fingerprint else "")
                        ~ ")"
                    ) -%}
                    {%- do exported.append(mart) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do log("exported " ~ (exported | length) ~ " marts as Parquet to " ~ export_dir
                ~ " (" ~ (marts | length - exported | length) ~ " unchanged)", info=true) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
