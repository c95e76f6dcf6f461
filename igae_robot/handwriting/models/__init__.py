"""The pretrained handwriting models shipped with the package (``digits.pt``, ``letters.pt``).

Built by ``benchmarks/build_handwriting_models.py``; read by :func:`igae_robot.handwriting.hand.load_hand`.
"""
