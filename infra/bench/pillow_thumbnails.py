"""The Pillow peer of `make bench` (processor/pipeline BenchmarkPeakRSS): the thumbnail work of the
AWS S3-triggered thumbnail tutorial, on one photo, the way that tutorial does it.

Usage: python3 pillow_thumbnails.py PHOTO OUTPREFIX   (writes OUTPREFIX_1280.jpg, OUTPREFIX_320.jpg)
"""
import sys

from PIL import Image, ImageOps


def main(photo, out):
    im = Image.open(photo)
    # Let libjpeg decode at the largest 1/2, 1/4 or 1/8 scale still at least 1280 px a side.
    im.draft("RGB", (1280, 1280))
    im = ImageOps.exif_transpose(im)
    for size in (1280, 320):
        im.thumbnail((size, size), Image.LANCZOS)
        im.save("%s_%d.jpg" % (out, size), "JPEG", quality=82)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
