//! Cross-block tests: gradients reach every variable; forward numbers match PyTorch.
use candle_core::{Device, Tensor};

use crate::error::Result;
use crate::nn::*;
use crate::rng::SeededRng;

#[test]
fn every_var_of_a_transformer_layer_gets_a_gradient() -> Result<()> {
    for norm_first in [false, true] {
        let mut store = ParamStore::new(Device::Cpu);
        let mut rng = SeededRng::new(1);
        let mut cfg = TransformerLayerConfig::bert(8, 2);
        cfg.ffn_dim = 16;
        cfg.cross_attention = true;
        cfg.causal = true;
        cfg.norm_first = norm_first;
        let emb = Embedding::new(&mut store, "emb", 10, 8, 0.5, &mut rng)?;
        let layer = TransformerLayer::new(&mut store, "layers.0", &cfg, &mut rng)?;
        let ids = Tensor::new(&[[1u32, 2, 3, 0], [4, 5, 0, 0]], &Device::Cpu)?; // [2, 4]
        let x = emb.forward(&ids)?; // [2, 4, 8]
        let mem = emb.forward(&Tensor::new(&[[6u32, 7, 8], [9, 1, 0]], &Device::Cpu)?)?; // [2, 3, 8]
        let pad = masks::key_padding_mask_from_ids(&[1, 2, 3, 0, 4, 5, 0, 0], 2, 4, 0, &Device::Cpu)?;
        let mpad = masks::key_padding_mask_from_ids(&[6, 7, 8, 9, 1, 0], 2, 3, 0, &Device::Cpu)?;
        let y = layer.forward(&x, Some(&pad), Some((&mem, Some(&mpad))), true, &mut rng)?;
        // A loss that is not invariant to LayerNorm's shift/scale.
        let w = Tensor::arange(0f32, 8.0, &Device::Cpu)?;
        let loss = y.broadcast_mul(&w)?.sqr()?.sum_all()?;
        let grads = loss.backward()?;
        for (name, var) in store.iter() {
            let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for {name}"));
            let v: Vec<f32> = g.flatten_all()?.to_vec1()?;
            assert!(v.iter().all(|x| x.is_finite()), "non-finite gradient for {name}");
            assert!(v.iter().any(|&x| x != 0.0), "zero gradient for {name}");
        }
    }
    Ok(())
}

/// The deterministic fill the PyTorch reference uses: element `j` of the `k`-th parameter.
fn fill(shape: &[usize], k: usize) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|j| (0.5 * (0.7 * j as f64 + 1.3 * k as f64 + 0.1).sin()) as f32).collect();
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?)
}

fn assert_close(got: &Tensor, want: &[f64], tol: f64) -> Result<()> {
    let g: Vec<f32> = got.flatten_all()?.to_vec1()?;
    assert_eq!(g.len(), want.len());
    for (i, (a, b)) in g.iter().zip(want).enumerate() {
        assert!((*a as f64 - b).abs() < tol, "element {i}: got {a}, want {b}");
    }
    Ok(())
}

// Reference (PyTorch 1.13, float64), /usr/bin/python3:
// ```python
// import torch, math
// def fill(shape, k):
//     n = math.prod(shape)
//     return torch.tensor([0.5*math.sin(0.7*j + 1.3*k + 0.1) for j in range(n)], dtype=torch.float64).reshape(shape)
// d, h, ff = 4, 2, 6
// names = []
// def lin(prefix, i, o): names.extend([(prefix+'.weight', (o, i)), (prefix+'.bias', (o,))])
// for x in 'qkvo': lin('self_attn.'+x, d, d)
// names.extend([('self_attn_norm.weight', (d,)), ('self_attn_norm.bias', (d,))])
// for x in 'qkvo': lin('cross_attn.'+x, d, d)
// names.extend([('cross_attn_norm.weight', (d,)), ('cross_attn_norm.bias', (d,))])
// lin('ffn.fc1', d, ff); lin('ffn.fc2', ff, d)
// names.extend([('ffn_norm.weight', (d,)), ('ffn_norm.bias', (d,))])
// P = {n: fill(s, k) for k, (n, s) in enumerate(names)}
// B, T, S = 2, 3, 2
// x = torch.tensor([math.sin(0.3*i) for i in range(B*T*d)], dtype=torch.float64).reshape(B, T, d)
// mem = torch.tensor([math.cos(0.2*i) for i in range(B*S*d)], dtype=torch.float64).reshape(B, S, d)
// NEG = -1e9
// valid = torch.tensor([[1,1,1],[1,1,0]], dtype=torch.bool)
// self_mask = torch.zeros(B,1,T,T, dtype=torch.float64) + torch.triu(torch.full((T,T), NEG, dtype=torch.float64), 1)
// self_mask = self_mask + torch.where(valid, 0.0, NEG).to(torch.float64).reshape(B,1,1,T)
// mvalid = torch.tensor([[1,1],[1,0]], dtype=torch.bool)
// cross_mask = torch.where(mvalid, 0.0, NEG).to(torch.float64).reshape(B,1,1,S)
// def L(p, x): return x @ P[p+'.weight'].T + P[p+'.bias']
// def ln(p, x, eps=1e-12): return torch.nn.functional.layer_norm(x, (d,), P[p+'.weight'], P[p+'.bias'], eps)
// def mha(p, x, m, mask):
//     q = L(p+'.q', x) / math.sqrt(d//h); k = L(p+'.k', m); v = L(p+'.v', m)
//     sp = lambda t: t.reshape(t.shape[0], t.shape[1], h, d//h).transpose(1,2)
//     s = sp(q) @ sp(k).transpose(-1,-2) + mask
//     a = torch.softmax(s, -1) @ sp(v)
//     return L(p+'.o', a.transpose(1,2).reshape(x.shape[0], x.shape[1], d))
// h1 = ln('self_attn_norm', x + mha('self_attn', x, x, self_mask))
// h2 = ln('cross_attn_norm', h1 + mha('cross_attn', h1, mem, cross_mask))
// f = L('ffn.fc2', torch.nn.functional.gelu(L('ffn.fc1', h2)))
// y = ln('ffn_norm', h2 + f)
// print('attn', mha('self_attn', x, x, self_mask).flatten().tolist())
// print('y', y.flatten().tolist())
// g = fill((d,), 20); b = fill((d,), 21)
// print('ln', torch.nn.functional.layer_norm(x[0], (d,), g, b, 1e-5).flatten().tolist())
// ```
const REF_ATTN: [f64; 24] = [
    0.3467342747491613,
    -0.6407771891339401,
    0.07973159670737884,
    -1.0847097837180428,
    0.19489994617145118,
    -0.5254417915686957,
    0.014222748773339677,
    -1.0765973812134515,
    0.1771670968080873,
    -0.5107194045002341,
    0.004212074128951748,
    -1.072455205691698,
    0.3294444392410841,
    -0.5703266452581207,
    -0.035738720488652176,
    -0.9375629025014689,
    0.4264256601097589,
    -0.6417126300756266,
    0.001802998054048266,
    -0.9369222095200176,
    0.40404084324017653,
    -0.6270366539447577,
    -0.003468250239618831,
    -0.941664809839877,
];
const REF_LAYER: [f64; 24] = [
    0.48789230549229873,
    0.20372887337788706,
    0.14377234450552573,
    0.6924340414933805,
    0.5325306995229021,
    0.6336208509205195,
    -0.06829377515598604,
    0.5343780464460409,
    0.5365821376201162,
    0.6709048553571497,
    -0.04583645834993476,
    0.4830925939840036,
    0.5176614142065329,
    0.5114133810662016,
    -0.10369712444787753,
    0.6534133601153214,
    0.4851209522431045,
    0.22079531235906438,
    0.0806123078477247,
    0.7024519758461629,
    0.48090523398003704,
    0.13697610989982797,
    0.2591983910541293,
    0.6377685574667611,
];
const REF_LN: [f64; 12] = [
    -0.19276894661693808,
    -0.10888287124709022,
    -0.06771185509390235,
    -0.42339122095879406,
    0.3061341947096452,
    0.6307450340296207,
    -0.030542907403757917,
    -0.5275257906943126,
    0.9169045989180031,
    0.3354774252557143,
    -0.3971691842958448,
    -0.5216483453629873,
];

#[test]
fn transformer_layer_and_attention_match_pytorch() -> Result<()> {
    let dev = Device::Cpu;
    let (b, t, s, d) = (2usize, 3usize, 2usize, 4usize);
    let mut store = ParamStore::new(dev.clone());
    let mut cfg = TransformerLayerConfig::bert(d, 2);
    cfg.ffn_dim = 6;
    cfg.cross_attention = true;
    cfg.causal = true;
    let layer = TransformerLayer::new(&mut store, "", &cfg, &mut SeededRng::new(0))?;
    let mut values = std::collections::HashMap::new();
    for (k, (name, var)) in store.iter().enumerate() {
        values.insert(name.to_string(), fill(var.dims(), k)?);
    }
    store.assign(&values)?;
    let xs: Vec<f32> = (0..b * t * d).map(|i| (0.3 * i as f64).sin() as f32).collect();
    let x = Tensor::from_vec(xs, (b, t, d), &dev)?;
    let ms: Vec<f32> = (0..b * s * d).map(|i| (0.2 * i as f64).cos() as f32).collect();
    let mem = Tensor::from_vec(ms, (b, s, d), &dev)?;
    let pad = masks::key_padding_mask(&[true, true, true, true, true, false], b, t, &dev)?;
    let mpad = masks::key_padding_mask(&[true, true, true, false], b, s, &dev)?;
    let mut rng = SeededRng::new(0);

    // The self-attention block alone (causal + padding).
    let mut astore = ParamStore::new(dev.clone());
    let attn2 = MultiHeadAttention::new(&mut astore, "self_attn", d, 2, 0.0, 0.02, &mut rng)?;
    let avals: std::collections::HashMap<String, Tensor> =
        astore.names().iter().filter_map(|n| values.get(n).map(|v| (n.clone(), v.clone()))).collect();
    astore.assign(&avals)?;
    let mask = masks::combine(&masks::causal_mask(t, &dev)?, &pad)?;
    assert_close(&attn2.forward(&x, None, Some(&mask), false, &mut rng)?, &REF_ATTN, 1e-5)?;

    let y = layer.forward(&x, Some(&pad), Some((&mem, Some(&mpad))), false, &mut rng)?;
    assert_close(&y, &REF_LAYER, 1e-4)?;

    let g = fill(&[d], 20)?;
    let bta = fill(&[d], 21)?;
    assert_close(&layer_norm(&x.get(0)?, &g, &bta, 1e-5)?, &REF_LN, 1e-5)?;
    Ok(())
}
