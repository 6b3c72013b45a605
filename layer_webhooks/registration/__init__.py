"""Registration: make Layer's webhooks match the hooks.

``_plan.py`` plans, pure (:func:`plan`: the webhooks Layer listed and the hooks in, one
:class:`Action` per hook out); ``_apply.py`` applies the plan over a :class:`LayerClient`
(:func:`register_webhooks`, behind :meth:`WebhooksServices.register`) and reports.
"""
