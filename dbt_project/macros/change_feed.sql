{#- Change feeds: an incremental model that depends on which rows of another model changed,
    not only on raw change clocks, names that model in `meta: {change_feed_from: [...]}`.
    Each build of the producer passes the keys it changed (dbt_changed_keys) to each of its
    consumers' queues in intermediate.dbt_change_feed, or a null key when it was built whole;
    the consumer reads its queue and empties it in its own transaction. A consumer that
    misses builds (it failed, was skipped or not selected) finds every change waiting, which
    dbt_changed_keys (kept for one build) cannot promise.

    A producer with `meta: {feed_key: <column>}` feeds hash(<column>) instead of its
    unique_key: of the rows its build writes (the batch) and of the rows it deletes
    (delete_and_record). It must delete, in a pre-hook, the rows it is about to replace, so
    their old values are fed too (int_family_members feeds the families a member left).

    Seeds change only by a new release of the project and are rebuilt on every `dbt build`:
    a consumer compares a fingerprint of the seeds it reads with the one it last saw
    (intermediate.dbt_input_fingerprints) and recomputes everything when it differs. -#}

{#- The models that read this model's change feed (their table names). -#}
{% macro feed_consumers() -%}
    {%- set consumers = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model'
                and this.identifier in (node.config.meta or {}).get('change_feed_from', []) -%}
                {%- do consumers.append(node.alias or node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(consumers) -}}
{%- endmacro %}

{#- The column this model feeds its consumers (meta feed_key), or none: its unique_key. -#}
{% macro feed_key() -%}
    {{- return((config.get('meta') or {}).get('feed_key')) -}}
{%- endmacro %}

{#- Queue the hashes `key_hashes_sql` selects (as key_hash), the ones not queued yet, for
    each consumer. -#}
{% macro queue_for_consumers(key_hashes_sql) -%}
    {%- for consumer in feed_consumers() %}
    insert into intermediate.dbt_change_feed
    select distinct '{{ consumer }}', '{{ this.identifier }}', key_hash from ({{ key_hashes_sql }})
    except
    select consumer_name, producer_name, key_hash from intermediate.dbt_change_feed
    where consumer_name = '{{ consumer }}' and producer_name = '{{ this.identifier }}';
    {%- endfor %}
    select 1
{%- endmacro %}

{#- Queue this model's changed keys for its consumers; a model with a feed_key feeds its
    values instead (feed_values). -#}
{% macro feed_changed_keys() -%}
    {%- if feed_key() -%}
        select 1
    {%- else -%}
        {{ queue_for_consumers("select key_hash from intermediate.dbt_changed_keys where model_name = '" ~ this.identifier ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- Queue hash(feed_key) of the rows of `rows_sql` for this model's consumers; nothing for a
    model without a feed_key. -#}
{% macro feed_values(rows_sql) -%}
    {%- if feed_key() -%}
        {{ queue_for_consumers('select hash(fed_rows.' ~ feed_key() ~ ') as key_hash from ' ~ rows_sql ~ ' as fed_rows') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- This model is built whole: each consumer must read all of it (a null key). -#}
{% macro feed_everything() -%}
    {%- for consumer in feed_consumers() %}
    delete from intermediate.dbt_change_feed
    where consumer_name = '{{ consumer }}' and producer_name = '{{ this.identifier }}';
    insert into intermediate.dbt_change_feed values ('{{ consumer }}', '{{ this.identifier }}', null);
    {%- endfor %}
    select 1
{%- endmacro %}

{#- A condition true when `producer` changed the row keyed by `key_sql` (its unique_key
    value) since this model's last build, or was built whole since then. Whether it was
    built whole is read when the model compiles (only this model's build empties its queue):
    `true`, or a semi-join DuckDB can plan as small, which an `exists (...) or` hid from it
    (dim_model_family 1.13 -> 0.84 s after a 300-model delta at 3M). -#}
{% macro fed_change(producer, key_sql) -%}
    {%- set built_whole = false -%}
    {%- if execute -%}
        {%- set built_whole = run_query(
            "select count(*) > 0 from intermediate.dbt_change_feed
             where consumer_name = '" ~ this.identifier ~ "' and producer_name = '" ~ producer ~ "'
               and key_hash is null"
        ).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if built_whole -%}
        true
    {%- else -%}
        (hash({{ key_sql }}) in (
            select key_hash from intermediate.dbt_change_feed
            where consumer_name = '{{ this.identifier }}' and producer_name = '{{ producer }}'))
    {%- endif -%}
{%- endmacro %}

{#- Project post-hook part: a consumer has read its queue. -#}
{% macro empty_change_feed() -%}
    {%- if (config.get('meta') or {}).get('change_feed_from') -%}
        delete from intermediate.dbt_change_feed where consumer_name = '{{ this.identifier }}'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- An order-free fingerprint of the rows of `relations` (small tables: seeds). -#}
{% macro rows_fingerprint(relations) -%}
    hash([{% for relation in relations %}(select bit_xor(hash(seed_row)) from {{ relation }} as seed_row){{ ', ' if not loop.last }}{% endfor %}])
{%- endmacro %}

{#- True when `relations` changed since this model's last build (always on a full build): a
    literal, computed when the model compiles (after the seeds were built), so a filter
    `changed_at > ... or inputs_changed(...)` still reaches the scan. -#}
{% macro inputs_changed(relations) -%}
    {%- if is_incremental() -%}
        {%- set found = run_query(
            "select (select fingerprint from intermediate.dbt_input_fingerprints
                     where model_name = '" ~ this.identifier ~ "') is distinct from "
            ~ rows_fingerprint(relations)
        ) -%}
        {{- 'true' if found.columns[0].values()[0] else 'false' -}}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: remember the fingerprint of `relations` this build read. -#}
{% macro save_inputs_fingerprint(relations) -%}
    insert or replace into intermediate.dbt_input_fingerprints
    select '{{ this.identifier }}', {{ rows_fingerprint(relations) }}
{%- endmacro %}
