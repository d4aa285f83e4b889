{#- Changed-row bookkeeping: in an incremental build, each incremental model records the keys
    of the rows it wrote or deleted (intermediate.dbt_changed_keys, as hashes of its
    unique_key, or of the whole row for an append model) and that this invocation built it
    incrementally (intermediate.dbt_incremental_builds). Data tests then read only those rows
    (`get_where_subquery`, `changed_rows_condition`). On a full build, a full refresh, a model
    that was not built in this invocation (`dbt test` alone), or any other model, the
    condition is absent and tests read whole tables. -#}

{% macro create_changed_rows_tables() -%}
    create table if not exists intermediate.dbt_changed_keys (
        model_name varchar not null,
        key_hash ubigint not null
    );
    create table if not exists intermediate.dbt_incremental_builds (
        model_name varchar primary key,
        invocation_id varchar not null
    );
    comment on table intermediate.dbt_changed_keys is
        'Incremental bookkeeping: hashes of the keys of the rows each incremental model wrote or deleted in its last incremental build.';
    comment on column intermediate.dbt_changed_keys.model_name is 'The incremental model.';
    comment on column intermediate.dbt_changed_keys.key_hash is 'hash() of the row''s unique_key columns (of the whole row when the model has no unique_key).';
    comment on table intermediate.dbt_incremental_builds is
        'Incremental bookkeeping: the dbt invocation that last built each model incrementally (none after a full build).';
    comment on column intermediate.dbt_incremental_builds.model_name is 'The incremental model.';
    comment on column intermediate.dbt_incremental_builds.invocation_id is 'dbt invocation id of that build.';
{%- endmacro %}

{#- The SQL expression hashing a row's key; `alias` names the row's table. -#}
{% macro changed_key_hash(alias, unique_key) -%}
    {%- if unique_key is none -%}
        hash({{ alias }})
    {%- else -%}
        {%- set columns = [unique_key] if unique_key is string else unique_key -%}
        hash({% for column in columns %}{{ alias }}.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- Project pre-hook of every model: forget the changed keys of the last build, and mark
    whether this build is incremental. Python models get no hooks: dbt-duckdb writes their
    result on another cursor, which a hook's open transaction would not see. -#}
{% macro reset_changed_keys() -%}
    {%- if config.get('materialized') == 'incremental' and model.language == 'sql' -%}
        delete from intermediate.dbt_changed_keys where model_name = '{{ this.identifier }}';
        {% if is_incremental() -%}
        insert or replace into intermediate.dbt_incremental_builds
        values ('{{ this.identifier }}', '{{ invocation_id }}')
        {%- else -%}
        delete from intermediate.dbt_incremental_builds where model_name = '{{ this.identifier }}'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Project post-hook of every model (runs before the model's own post-hooks, inside the
    build's transaction): record the keys of the rows this incremental build wrote, read from
    the batch dbt-duckdb merged (`<model>__dbt_tmp<time>`, the newest one). -#}
{% macro record_changed_keys() -%}
    {%- set batch = none -%}
    {%- if execute and config.get('materialized') == 'incremental' and model.language == 'sql'
        and is_incremental() -%}
        {%- set found = run_query(
            "select '\"' || table_name || '\"' from duckdb_tables()
             where table_name like '" ~ this.identifier ~ "\\_\\_dbt\\_tmp%' escape '\\'
             order by table_name desc limit 1"
        ) -%}
        {%- set batch = found.columns[0].values()[0] if found.rows | length else none -%}
    {%- endif -%}
    {%- if batch -%}
        insert into intermediate.dbt_changed_keys
        select distinct '{{ this.identifier }}', {{ changed_key_hash('batch', config.get('unique_key')) }}
        from {{ batch }} as batch
    {%- endif -%}
{%- endmacro %}

{#- Before an incremental model deletes rows (`where_sql` selects them from {{ this }} as
    `kept`), record their keys: a relationship to this model is checked again for them. -#}
{% macro record_deleted_keys(where_sql) -%}
    insert into intermediate.dbt_changed_keys
    select '{{ this.identifier }}', {{ changed_key_hash('kept', config.get('unique_key')) }}
    from {{ this }} as kept
    where {{ where_sql }}
{%- endmacro %}

{#- The incremental model node behind `relation`, or none. -#}
{% macro incremental_node_of(relation) -%}
    {%- if execute and relation is not string -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.config.materialized == 'incremental'
                and node.language == 'sql'
                and (node.alias or node.name) == relation.identifier
                and node.schema == relation.schema -%}
                {{- return(node) -}}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{#- A condition on the rows of `relation` (aliased `alias`) true for the rows its incremental
    build in this invocation changed, and for every row otherwise; none when `relation` is
    not an incremental model or the build is a full refresh (a model kept through it, such
    as the change log, is tested whole too). -#}
{% macro changed_rows_condition(relation, alias) -%}
    {%- set node = incremental_node_of(relation) -%}
    {%- if node is none or flags.FULL_REFRESH -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set name = node.alias or node.name -%}
    {%- set condition -%}
        (not exists (select 1 from intermediate.dbt_incremental_builds
                     where model_name = '{{ name }}' and invocation_id = '{{ invocation_id }}')
         or {{ changed_key_hash(alias, node.config.unique_key) }} in
            (select key_hash from intermediate.dbt_changed_keys where model_name = '{{ name }}'))
    {%- endset -%}
    {{- return(condition) -}}
{%- endmacro %}

{#- Generic tests read `get_where_subquery(model)`: dbt's `where` config, and the changed-rows
    condition for tests that look at one row at a time. `unique`, `unique_combination` and
    `relationships` compare a row with the whole table, so they get the whole table and apply
    the condition themselves. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set test_name = (model.test_metadata or {}).get('name') if model is mapping else none -%}
    {%- set changed = none -%}
    {%- if test_name not in ('unique', 'unique_combination', 'relationships') -%}
        {%- set changed = changed_rows_condition(relation, 'changed_rows_source') -%}
    {%- endif -%}
    {%- if where or changed -%}
        {%- set filtered -%}
            (select * from {{ relation }} as changed_rows_source
             where {{ where or 'true' }} and {{ changed or 'true' }}) dbt_subquery
        {%- endset -%}
        {{- return(filtered) -}}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}
