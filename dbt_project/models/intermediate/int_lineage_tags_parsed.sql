-- One row per (child, parent, relation) declared by a `base_model:` tag of a current model
-- (the macro lineage_tag_declarations says how a tag is parsed).
{{ lineage_tag_declarations(ref('int_model_traits')) }}
