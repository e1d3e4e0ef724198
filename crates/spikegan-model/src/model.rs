//! The networks: the semi-convolutional Spike-GAN critic and generator, and the fully connected
//! pair of the paper's Fig. 2.
//!
//! Padding: every convolution pads 2 bins on both sides (k = 5). For the stride-1 generator
//! convolutions this is exactly TensorFlow's 'same'; for the stride-2 critic convolutions TF pads
//! 1 bin before and 2 after, which gives the same lengths (T/2, T/4) with the window shifted by one
//! bin. The spec allows either; we use the symmetric one, whose adjoint the gradient penalty needs.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig1d};
use burn::tensor::activation::{leaky_relu, relu, sigmoid};
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Tensor, TensorData, s};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::config::{Arch, ModelConfig};

/// Slope of the leaky ReLUs.
pub const LEAK: f64 = 0.2;

/// Lowest generator logit: spike probabilities stop at sigmoid(-60) = 8.8e-27 (zero for any
/// Bernoulli draw) instead of going on to values below 1.2e-38, subnormal floats on which the
/// CPU's arithmetic is about 100x slower (a 30-minute retina run slowed from 4 to 2.4 it/s with
/// 63% of its probabilities subnormal). Below the floor the gradient is zero.
pub const LOGIT_FLOOR: f64 = -60.0;

/// Weights are drawn on the host from the caller's seeded RNG (never from the backend's global
/// RNG, which other threads may reseed or advance), so a seed gives the same networks whatever
/// else runs in the process. Biases start at zero.
pub type InitRng = ChaCha8Rng;

/// Bound of the original's initialisation: uniform with standard deviation 0.02.
fn paper_uniform() -> f64 {
    0.02 * 3f64.sqrt()
}

/// U(-bound, bound) values in the shape of `p`, drawn in row-major order.
fn uniform<const D: usize>(p: &Param<Tensor<D>>, bound: f64, rng: &mut InitRng, device: &Device) -> Param<Tensor<D>> {
    let dims = p.val().dims();
    let values: Vec<f32> = (0..dims.iter().product::<usize>())
        .map(|_| rng.random_range(-bound..bound) as f32)
        .collect();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, dims), device))
}

fn conv(c_in: usize, c_out: usize, k: usize, stride: usize, rng: &mut InitRng, device: &Device) -> Conv1d {
    let mut c = Conv1dConfig::new(c_in, c_out, k)
        .with_stride(stride)
        .with_padding(PaddingConfig1d::Explicit(k / 2, k / 2))
        .with_initializer(Initializer::Zeros)
        .init(device);
    c.weight = uniform(&c.weight, paper_uniform(), rng, device);
    c
}

fn linear(d_in: usize, d_out: usize, bound: f64, rng: &mut InitRng, device: &Device) -> Linear {
    let mut l = LinearConfig::new(d_in, d_out)
        .with_initializer(Initializer::Zeros)
        .init(device);
    l.weight = uniform(&l.weight, bound, rng, device);
    l
}

/// A [`Conv1d`] layer (symmetric padding k/2, `stride`) on channel-major activations
/// `[C, B, L]` -> `[C_out, B, L_out]`, as one matrix product: the k shifted (strided) views of
/// the padded input are stacked into columns `[C*k, B*L_out]` and multiplied by the weight
/// `[C_out, C*k]`. One large product instead of the one small product per sample that the CPU
/// backend's `conv1d` does; channel-major layout between layers avoids transposing copies.
pub fn conv1d_channel_major(conv: &Conv1d, x: Tensor<3>, stride: usize) -> Tensor<3> {
    let w = conv.weight.val();
    let [c_out, c_in, k] = w.dims();
    let [_, b, l] = x.dims();
    let pad = k / 2;
    let l_out = (l + 2 * pad - k) / stride + 1;
    let xp = x.pad([(pad, pad)], PadMode::Constant(0.0));
    let span = stride * (l_out - 1) + 1;
    let shifted: Vec<Tensor<3>> = (0..k)
        .map(|j| xp.clone().slice(s![.., .., j..j + span; stride as isize]))
        .collect();
    let columns = Tensor::stack::<4>(shifted, 1).reshape([c_in * k, b * l_out]); // [C, k, B, L_out]
    let out = w.reshape([c_out, c_in * k]).matmul(columns).reshape([c_out, b, l_out]);
    match &conv.bias {
        Some(bias) => out + bias.val().reshape([c_out, 1, 1]),
        None => out,
    }
}

/// [`conv1d_channel_major`] on batch-major `[B, C, L]` -> `[B, C_out, L_out]`; equals
/// `conv.forward(x)` (tested).
pub fn conv1d_gemm(conv: &Conv1d, x: Tensor<3>, stride: usize) -> Tensor<3> {
    conv1d_channel_major(conv, x.swap_dims(0, 1), stride).swap_dims(0, 1)
}

/// The adjoint of [`conv1d_channel_major`] with respect to its input (bias aside): the gradient
/// `g` `[C_out, B, L_out]` of the output to the gradient `[C, B, l_in]` of the input, by the
/// transposed product and a scatter-add of the k shifted views. Differentiable with respect to
/// the weight (the gradient penalty needs this).
pub fn conv1d_channel_major_adjoint(conv: &Conv1d, g: Tensor<3>, stride: usize, l_in: usize) -> Tensor<3> {
    let w = conv.weight.val();
    let [c_out, c_in, k] = w.dims();
    let [_, b, l_out] = g.dims();
    let pad = k / 2;
    let device = g.device();
    let columns = w
        .reshape([c_out, c_in * k])
        .transpose()
        .matmul(g.reshape([c_out, b * l_out]))
        .reshape([c_in, k, b, l_out]);
    let padded = l_in + 2 * pad;
    let span = stride * (l_out - 1) + 1;
    let mut acc = Tensor::zeros([c_in, b, padded], &device);
    for j in 0..k {
        let part = columns
            .clone()
            .slice(s![.., j..j + 1, .., ..])
            .reshape([c_in, b, l_out]);
        // Values at positions j, j + stride, ...: interleave stride - 1 zeros, then shift.
        let spread = if stride == 1 {
            part
        } else {
            let zeros = Tensor::zeros([c_in, b, l_out, stride - 1], &device);
            Tensor::cat(vec![part.reshape([c_in, b, l_out, 1]), zeros], 3)
                .reshape([c_in, b, l_out * stride])
                .slice(s![.., .., 0..span])
        };
        acc = acc + spread.pad([(j, padded - j - span)], PadMode::Constant(0.0));
    }
    acc.slice(s![.., .., pad..pad + l_in])
}

/// Critic of the conv model: `[B, N, T]` -> conv(N -> 2f, stride 2) -> LReLU -> conv(2f -> 4f,
/// stride 2) -> LReLU -> flatten (channel-major, f*T values) -> linear -> `[B, 1]` score.
#[derive(Module, Debug)]
pub struct ConvCritic {
    /// First convolution, N -> 2f channels, stride 2.
    pub conv1: Conv1d,
    /// Second convolution, 2f -> 4f channels, stride 2.
    pub conv2: Conv1d,
    /// Final linear layer, f*T -> 1.
    pub fc: Linear,
}

impl ConvCritic {
    fn new(c: &ModelConfig, rng: &mut InitRng, device: &Device) -> Self {
        let f = c.f();
        ConvCritic {
            conv1: conv(c.neurons, 2 * f, c.kernel, 2, rng, device),
            conv2: conv(2 * f, 4 * f, c.kernel, 2, rng, device),
            fc: linear(4 * f * c.bins / 4, 1, paper_uniform(), rng, device),
        }
    }

    /// Scores, `[B, N, T]` -> `[B, 1]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let h = leaky_relu(conv1d_channel_major(&self.conv1, x.swap_dims(0, 1), 2), LEAK); // [2f, B, T/2]
        let h = leaky_relu(conv1d_channel_major(&self.conv2, h, 2), LEAK); // [4f, B, T/4]
        let [c, b, t] = h.dims();
        self.fc.forward(h.swap_dims(0, 1).reshape([b, c * t])) // [B, 1]
    }
}

/// Generator of the conv model: z `[B, latent]` -> linear (-> f*T) -> reshape `[B, 4f, T/4]` ->
/// LReLU -> {nearest upsample x2 -> conv stride 1 -> LReLU} twice (4f -> 2f -> N) -> sigmoid.
/// The LReLU before the sigmoid is the original's quirk.
#[derive(Module, Debug)]
pub struct ConvGenerator {
    /// Input projection, latent -> f*T.
    pub fc: Linear,
    /// 4f -> 2f channels at T/2.
    pub conv1: Conv1d,
    /// 2f -> N channels at T.
    pub conv2: Conv1d,
    /// Per-(neuron, bin) offsets added to the last layer's pre-activations, `[N * T]`
    /// row-major: the per-bin rate calibration of a sampling generator
    /// ([`crate::sample::calibrate_rates`]). Not in the weights' record: checkpoints save it
    /// beside them.
    #[module(skip)]
    pub output_offset: Option<Vec<f32>>,
}

/// Nearest-neighbour upsampling x2 along the last (time) axis: `[X, Y, L]` -> `[X, Y, 2L]`.
fn upsample2(x: Tensor<3>) -> Tensor<3> {
    let [b, c, l] = x.dims();
    x.reshape([b, c, l, 1]).expand([b, c, l, 2]).reshape([b, c, 2 * l])
}

impl ConvGenerator {
    fn new(c: &ModelConfig, rng: &mut InitRng, device: &Device) -> Self {
        let f = c.f();
        ConvGenerator {
            fc: linear(c.latent, 4 * f * c.bins / 4, paper_uniform(), rng, device),
            conv1: conv(4 * f, 2 * f, c.kernel, 1, rng, device),
            conv2: conv(2 * f, c.neurons, c.kernel, 1, rng, device),
            output_offset: None,
        }
    }

    /// Pre-sigmoid activations (logits), `[B, latent]` -> `[B, N, T]`.
    pub fn logits(&self, z: Tensor<2>) -> Tensor<3> {
        let [b, _] = z.dims();
        let c4 = self.conv1.weight.val().dims()[1];
        let h = self.fc.forward(z);
        let [_, d] = h.dims();
        let h = leaky_relu(h.reshape([b, c4, d / c4]), LEAK).swap_dims(0, 1); // [4f, B, T/4]
        let h = leaky_relu(conv1d_channel_major(&self.conv1, upsample2(h), 1), LEAK); // [2f, B, T/2]
        let mut out = conv1d_channel_major(&self.conv2, upsample2(h), 1); // [N, B, T]
        if let Some(offset) = &self.output_offset {
            let [n, _, t] = out.dims();
            let offset = Tensor::<1>::from_floats(offset.as_slice(), &out.device()).reshape([n, 1, t]);
            out = out + offset;
        }
        leaky_relu(out, LEAK).swap_dims(0, 1) // [B, N, T]
    }
}

/// The fully connected critic: N*T -> u, three u -> u (LReLU 0.2 after each), -> 1.
#[derive(Module, Debug)]
pub struct MlpCritic {
    /// Hidden layers.
    pub hidden: Vec<Linear>,
    /// Output layer u -> 1.
    pub out: Linear,
}

/// He-uniform bound (std sqrt(2 / fan_in)) for hidden layers.
fn he_uniform(fan_in: usize) -> f64 {
    (6.0 / fan_in as f64).sqrt()
}

/// Glorot-uniform bound for output layers.
fn glorot_uniform(fan_in: usize, fan_out: usize) -> f64 {
    (6.0 / (fan_in + fan_out) as f64).sqrt()
}

fn mlp_layers(d_in: usize, u: usize, rng: &mut InitRng, device: &Device) -> Vec<Linear> {
    let mut v = vec![linear(d_in, u, he_uniform(d_in), rng, device)];
    v.extend((0..3).map(|_| linear(u, u, he_uniform(u), rng, device)));
    v
}

impl MlpCritic {
    fn new(c: &ModelConfig, rng: &mut InitRng, device: &Device) -> Self {
        let (d, u) = (c.neurons * c.bins, c.mlp_units);
        MlpCritic {
            hidden: mlp_layers(d, u, rng, device),
            out: linear(u, 1, glorot_uniform(u, 1), rng, device),
        }
    }

    /// Scores, `[B, N, T]` -> `[B, 1]` (input flattened neuron-major).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, n, t] = x.dims();
        let h = self
            .hidden
            .iter()
            .fold(x.reshape([b, n * t]), |h, l| leaky_relu(l.forward(h), LEAK));
        self.out.forward(h)
    }
}

/// The fully connected generator: latent -> u, three u -> u (ReLU after each), -> N*T, sigmoid.
#[derive(Module, Debug)]
pub struct MlpGenerator {
    /// Hidden layers.
    pub hidden: Vec<Linear>,
    /// Output layer u -> N*T.
    pub out: Linear,
}

impl MlpGenerator {
    fn new(c: &ModelConfig, rng: &mut InitRng, device: &Device) -> Self {
        let (d, u) = (c.neurons * c.bins, c.mlp_units);
        MlpGenerator {
            hidden: mlp_layers(c.latent, u, rng, device),
            out: linear(u, d, glorot_uniform(u, d), rng, device),
        }
    }
}

/// A critic of either architecture. (One exists per run, so the variants' size difference is moot.)
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Critic {
    /// Semi-convolutional.
    Conv(ConvCritic),
    /// Fully connected.
    Mlp(MlpCritic),
}

/// A generator of either architecture.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Generator {
    /// Semi-convolutional.
    Conv(ConvGenerator),
    /// Fully connected.
    Mlp(MlpGenerator),
}

impl Critic {
    /// A freshly initialised critic, weights drawn from `rng`.
    pub fn new(c: &ModelConfig, rng: &mut InitRng, device: &Device) -> Self {
        match c.arch {
            Arch::Conv => Critic::Conv(ConvCritic::new(c, rng, device)),
            Arch::Mlp => Critic::Mlp(MlpCritic::new(c, rng, device)),
        }
    }

    /// Scores, `[B, N, T]` -> `[B, 1]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        match self {
            Critic::Conv(c) => c.forward(x),
            Critic::Mlp(c) => c.forward(x),
        }
    }
}

impl Generator {
    /// A freshly initialised generator, weights drawn from `rng`.
    pub fn new(c: &ModelConfig, rng: &mut InitRng, device: &Device) -> Self {
        match c.arch {
            Arch::Conv => Generator::Conv(ConvGenerator::new(c, rng, device)),
            Arch::Mlp => Generator::Mlp(MlpGenerator::new(c, rng, device)),
        }
    }

    /// Pre-sigmoid activations, `[B, latent]` -> `[B, N, T]`.
    pub fn logits(&self, z: Tensor<2>, neurons: usize, bins: usize) -> Tensor<3> {
        match self {
            Generator::Conv(g) => g.logits(z),
            Generator::Mlp(g) => {
                let [b, _] = z.dims();
                let h = g.hidden.iter().fold(z, |h, l| relu(l.forward(h)));
                g.out.forward(h).reshape([b, neurons, bins])
            }
        }
    }

    /// Spike probabilities, `[B, latent]` -> `[B, N, T]` in (0, 1), the logits floored at
    /// [`LOGIT_FLOOR`].
    pub fn forward(&self, z: Tensor<2>, neurons: usize, bins: usize) -> Tensor<3> {
        sigmoid(self.logits(z, neurons, bins).clamp_min(LOGIT_FLOOR))
    }

    /// The output pre-activation of neuron i in bin t moved by `shift[i * T + t]`: for the MLP
    /// generator in its output bias, for the conv generator (whose bias is one per neuron) in
    /// its `output_offset`, which acts before its final LReLU.
    pub fn shift_output_bias(self, shift: &[f64], device: &Device) -> Self {
        let moved = |old: Vec<f32>| -> Vec<f32> {
            old.iter()
                .zip(shift)
                .map(|(&b, &s)| (f64::from(b) + s) as f32)
                .collect()
        };
        match self {
            Generator::Conv(mut g) => {
                let old = g.output_offset.take().unwrap_or_else(|| vec![0.0; shift.len()]);
                g.output_offset = Some(moved(old));
                Generator::Conv(g)
            }
            Generator::Mlp(mut g) => {
                let old = match &g.out.bias {
                    Some(b) => b.val().into_data().iter::<f32>().collect(),
                    None => vec![0.0; shift.len()],
                };
                g.out.bias = Some(Param::from_tensor(Tensor::from_floats(moved(old).as_slice(), device)));
                Generator::Mlp(g)
            }
        }
    }

    /// The conv generator's per-bin output offsets, when set (see [`ConvGenerator::output_offset`]).
    pub fn output_offset(&self) -> Option<&[f32]> {
        match self {
            Generator::Conv(g) => g.output_offset.as_deref(),
            Generator::Mlp(_) => None,
        }
    }

    /// The conv generator with these per-bin output offsets (`[N * T]`); the MLP generator
    /// keeps its calibration in its bias, so it is returned unchanged.
    pub fn with_output_offset(self, offset: Option<Vec<f32>>) -> Self {
        match self {
            Generator::Conv(mut g) => {
                g.output_offset = offset;
                Generator::Conv(g)
            }
            mlp => mlp,
        }
    }

    /// Set the output bias so that, with the other layers as they are near initialisation, the
    /// spike probability of neuron i starts near `rates[i]` (logit of the rate; for the conv
    /// model the logit passes the final LReLU, so negative logits are divided by its slope).
    pub fn set_output_rates(self, rates: &[f64], bins: usize, device: &Device) -> Self {
        let logit = |p: f64| {
            let p = p.clamp(1e-4, 1.0 - 1e-4);
            (p / (1.0 - p)).ln()
        };
        match self {
            Generator::Conv(mut g) => {
                let b: Vec<f32> = rates
                    .iter()
                    .map(|&p| logit(p))
                    .map(|l| if l < 0.0 { l / LEAK } else { l } as f32)
                    .collect();
                g.conv2.bias = Some(Param::from_tensor(Tensor::from_floats(b.as_slice(), device)));
                Generator::Conv(g)
            }
            Generator::Mlp(mut g) => {
                let b: Vec<f32> = rates
                    .iter()
                    .flat_map(|&p| std::iter::repeat_n(logit(p) as f32, bins))
                    .collect();
                g.out.bias = Some(Param::from_tensor(Tensor::from_floats(b.as_slice(), device)));
                Generator::Mlp(g)
            }
        }
    }
}
