"""The filter stage: a TF Hub object detector decides which crawled photos show one full human body
with a bag, and every decision carries one reason a human can check on the contact sheet.

Modules, in pipeline order: `model` (load the detector), `images` (decode any photo to RGB uint8),
`inference` (tf.data pipeline → `Detections`), `rule` (`keep_full_body_with_bag`), `masks`
(full-image instance masks), `stage` (chunks, shards, resume, merge), `stats`, `contact_sheet`.
The FIXTURE detector for the offline demo and tests lives in `adgen.fixtures.detector`.

TensorFlow is imported lazily, inside the functions that need it, so `adgen --help` stays fast.
"""
