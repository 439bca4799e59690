"""Strip stage: cut each kept person (and their bag) out of the photo.

Backends produce masks (`adgen.matting.backends`); `adgen.matting.cutout` turns masks into straight-alpha
RGBA cut-outs and on-white images; `adgen.matting.quality` measures each mask and names why one is
dropped; `adgen.matting.strip` is the stage over the filtered manifest.
"""
