"""The planner's kernel scratch sizes come from the kernels themselves (the host library's
tt_host_kernel_scratch_bytes); these are hand-derived from the DSP kernels' scratch layouts."""
from tflm_train.converter.kernel_scratch import kernel_scratch_bytes


def test_pointwise_conv_takes_its_widened_slice_and_channel_table():
    # 16 input channels = 4 groups of 32 B widened inputs; 8 output channels + the list's end,
    # 48 B each
    assert kernel_scratch_bytes("CONV_2D", (1, 8, 8, 16), (8, 1, 1, 16), (1, 8, 8, 8)) \
        == 4 * 32 + 48 * 9
    # wide layers are sliced: at most 32 groups and a chunk of 32 channels
    assert kernel_scratch_bytes("CONV_2D", (1, 4, 4, 256), (64, 1, 1, 256), (1, 4, 4, 64)) \
        == 32 * 32 + 48 * 33


def test_small_depth_stem_takes_widened_filter_rows():
    # 3x3x3 window = 27 bytes -> 7 words of pairs -> 14 words per row; chunk = (256 // 14) & ~3
    # = 16 rows, capped at 16
    words = 2 * ((27 + 3) // 4)
    assert kernel_scratch_bytes("CONV_2D", (1, 96, 96, 3), (8, 3, 3, 3), (1, 48, 48, 8)) \
        == 4 * words * 8
    assert kernel_scratch_bytes("CONV_2D", (1, 96, 96, 3), (32, 3, 3, 3), (1, 48, 48, 32)) \
        == 4 * words * 16


def test_depthwise_takes_a_channel_group_and_a_patch():
    assert kernel_scratch_bytes("DEPTHWISE_CONV_2D", (1, 12, 12, 16), (1, 3, 3, 16),
                                (1, 12, 12, 16)) == 8 * 120 + 128 + 1024
    # a depth multiplier other than 1 never takes the DSP kernel
    assert kernel_scratch_bytes("DEPTHWISE_CONV_2D", (1, 12, 12, 8), (1, 3, 3, 16),
                                (1, 12, 12, 16)) == 0


def test_shapes_the_dsp_kernels_never_take_need_none():
    assert kernel_scratch_bytes("CONV_2D", (1, 8, 8, 2), (4, 1, 1, 2), (1, 8, 8, 4)) == 0
    assert kernel_scratch_bytes("CONV_2D", (1, 8, 8, 16), (4, 3, 3, 16), (1, 8, 8, 4)) == 0
    assert kernel_scratch_bytes("FULLY_CONNECTED", (1, 1, 1, 16), (4, 1, 1, 16),
                                (1, 1, 1, 4)) == 0
