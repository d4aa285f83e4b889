{#- Incremental bookkeeping: each incremental model remembers the newest raw change it has
    absorbed, in intermediate.dbt_watermarks, written in the same transaction as its data. -#}

{% macro create_watermark_table() -%}
    create schema if not exists intermediate;
    create table if not exists intermediate.dbt_watermarks (
        model_name varchar primary key,
        watermark timestamp,
        updated_at timestamp not null
    );
    create table if not exists intermediate.dbt_family_fingerprints (
        model_name varchar not null,
        family_root_id varchar not null,
        family_fingerprint ubigint,
        primary key (model_name, family_root_id)
    );
    comment on table intermediate.dbt_watermarks is
        'Incremental bookkeeping: the newest raw change time each incremental model (and clock) has absorbed.';
    comment on column intermediate.dbt_watermarks.model_name is 'Model name, with `:<clock>` for a model reading several clocks.';
    comment on column intermediate.dbt_watermarks.watermark is 'Newest change time absorbed.';
    comment on column intermediate.dbt_watermarks.updated_at is 'When it was recorded.';
    comment on table intermediate.dbt_family_fingerprints is
        'Incremental bookkeeping: the family fingerprints each family mart was last built from.';
    comment on column intermediate.dbt_family_fingerprints.model_name is 'The family mart.';
    comment on column intermediate.dbt_family_fingerprints.family_root_id is 'The family.';
    comment on column intermediate.dbt_family_fingerprints.family_fingerprint is 'XOR of the member row hashes when the mart was built.';
{%- endmacro %}

{#- The watermark of the model being built (of one of its input clocks, when `clock` names
    one): a SQL expression, never null. On a full build (or when the bookkeeping row is
    missing) it is -infinity, so every row counts as changed. -#}
{% macro watermark(clock=none) -%}
    {%- if is_incremental() -%}
        coalesce(
            (select watermark from intermediate.dbt_watermarks
             where model_name = '{{ watermark_key(clock) }}'),
            '-infinity'::timestamp
        )
    {%- else -%}
        '-infinity'::timestamp
    {%- endif -%}
{%- endmacro %}

{% macro watermark_key(clock=none) -%}
    {{ this.identifier }}{% if clock %}:{{ clock }}{% endif %}
{%- endmacro %}

{#- Post-hook: record `watermark_sql` (the newest change time in an input) for this model. -#}
{% macro save_watermark(watermark_sql, clock=none) -%}
    insert or replace into intermediate.dbt_watermarks (model_name, watermark, updated_at)
    select '{{ watermark_key(clock) }}', ({{ watermark_sql }}), now()::timestamp
{%- endmacro %}

{#- Post-hook: delete the rows of this model that no longer match any row of `relation`
    (models that left the Hub, stale edges, families that dissolved). `condition` relates
    `kept` (a row of this model) to `current` (a row of `relation`). -#}
{% macro delete_unmatched(relation, condition) -%}
    {{ delete_and_record('not exists (select 1 from ' ~ relation ~ ' as current where ' ~ condition ~ ')') }}
{%- endmacro %}

{#- Pre-hook of an incremental model keyed by child: drop the rows of children whose raw
    version changed since the last build (`changed_sql` selects their ids). Their rows are
    rebuilt by the model; a child whose new version declares nothing keeps no stale row.
    Nothing to do on a full build. -#}
{% macro delete_rows_of_changed(key, changed_sql) -%}
    {%- if is_incremental() -%}
        {{ delete_and_record('kept.' ~ key ~ ' in (' ~ changed_sql ~ ')') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Family fingerprints an incremental family mart was last built from, kept apart from the
    published marts (intermediate.dbt_family_fingerprints). -#}
{% macro stored_family_fingerprints() -%}
    (select family_root_id, family_fingerprint from intermediate.dbt_family_fingerprints
     where model_name = '{{ this.identifier }}')
{%- endmacro %}

{#- Post-hook: remember the fingerprint of every current family for this model, writing only
    the families that changed, appeared or left (a small delta rewrites a few rows). -#}
{% macro save_family_fingerprints() -%}
    create or replace temporary table current_family_fingerprints as
    select distinct family_root_id, family_fingerprint from {{ ref('int_family_members') }};
    delete from intermediate.dbt_family_fingerprints as stored
    where stored.model_name = '{{ this.identifier }}'
      and not exists (
          select 1 from current_family_fingerprints as current
          where current.family_root_id = stored.family_root_id
            and current.family_fingerprint is not distinct from stored.family_fingerprint
      );
    insert into intermediate.dbt_family_fingerprints
    select '{{ this.identifier }}', current.family_root_id, current.family_fingerprint
    from current_family_fingerprints as current
    where not exists (
        select 1 from intermediate.dbt_family_fingerprints as stored
        where stored.model_name = '{{ this.identifier }}'
          and stored.family_root_id = current.family_root_id
    );
    drop table current_family_fingerprints
{%- endmacro %}
