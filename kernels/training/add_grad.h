// ADD needs no backward kernel. d(a + b)/da = d(a + b)/db = identity on the real values (the
// int8 requantisation of the forward op does not change the real-valued function), so the
// runtime passes the output gradient buffer on to both inputs unchanged (aliasing it, no copy).
// Broadcasting ADD is not supported in the backward pass: it would need a reduction over the
// broadcast axes. When a tensor feeds several consumers (e.g. the skip branch of a residual
// block), the runtime sums the gradients of all consumers with GradAccumulate
// (grad_accumulate.h). A fused activation on ADD is handled by ActivationGrad first.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_ADD_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_ADD_GRAD_H_
#endif  // TFLM_TRAIN_KERNELS_TRAINING_ADD_GRAD_H_
