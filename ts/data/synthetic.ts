/**
 * The embedded default dataset: a seeded, deterministic synthetic shop.
 *
 * Items belong to categories (each with its own subcategories, nouns, adjectives and brands), so
 * their text carries the category semantics. Behaviour follows planted co-purchase chains: items
 * are grouped into cycles (A -> B -> C -> A ...) and a user's next item follows the chain with
 * probability `followChain` (70% the next chain item, 30% the one after it), is a random item of the current item's category with probability
 * `sameCategory` (text-consistent), and otherwise a popularity-weighted random item. Most chains
 * stay inside one category (behaviour agrees with text) but a fraction `crossCategoryChains` mix
 * categories (behaviour the text cannot predict), so both a text stream and a behaviour stream
 * have something to learn.
 */
import { parseConfig, SyntheticConfigSchema, type SyntheticConfig } from '../config/data.js';
import { SeededRandom, WeightedSampler } from './prng.js';
import type { Dataset, ItemMeta } from './types.js';

interface CategoryWords {
  name: string;
  subcategories: string[];
  nouns: string[];
  adjectives: string[];
  brands: string[];
}

const CATEGORIES: readonly CategoryWords[] = [
  { name: 'Skin Care', subcategories: ['Face', 'Body', 'Sun'], nouns: ['Moisturizer', 'Serum', 'Cleanser', 'Toner', 'Sunscreen', 'Face Mask', 'Eye Cream', 'Body Lotion'], adjectives: ['Hydrating', 'Soothing', 'Brightening', 'Gentle', 'Oil-Free', 'Nourishing'], brands: ['Dermacare', 'Aquaskin', 'Purelle'] },
  { name: 'Makeup', subcategories: ['Eyes', 'Lips', 'Nails'], nouns: ['Lipstick', 'Mascara', 'Eyeliner', 'Nail Polish', 'Foundation', 'Lip Gloss', 'Eyeshadow Palette', 'Blush'], adjectives: ['Matte', 'Glossy', 'Long-Lasting', 'Shimmer', 'Waterproof', 'Velvet'], brands: ['Colorista', 'Glamoura', 'Nailique'] },
  { name: 'Hair Care', subcategories: ['Shampoo', 'Styling', 'Tools'], nouns: ['Shampoo', 'Conditioner', 'Hair Oil', 'Hair Spray', 'Styling Gel', 'Hair Dryer', 'Flat Iron', 'Hair Mask'], adjectives: ['Volumizing', 'Repairing', 'Smoothing', 'Curl-Defining', 'Argan', 'Keratin'], brands: ['Tressa', 'Silkwave', 'Mane & Co'] },
  { name: 'Camping', subcategories: ['Shelter', 'Cooking', 'Lighting'], nouns: ['Tent', 'Sleeping Bag', 'Camp Stove', 'Lantern', 'Headlamp', 'Cooler', 'Camp Chair', 'Water Filter'], adjectives: ['Ultralight', 'Waterproof', 'Compact', 'Four-Season', 'Rechargeable', 'Insulated'], brands: ['Trailpeak', 'Northcamp', 'Embermoss'] },
  { name: 'Cycling', subcategories: ['Bikes', 'Components', 'Apparel'], nouns: ['Bike Helmet', 'Bike Light', 'Cycling Gloves', 'Saddle', 'Bike Pump', 'Chain Lube', 'Jersey', 'Bike Lock'], adjectives: ['Aero', 'Carbon', 'Breathable', 'Padded', 'High-Visibility', 'Lightweight'], brands: ['Velocita', 'Spokehaus', 'Roadrun'] },
  { name: 'Fitness', subcategories: ['Strength', 'Yoga', 'Cardio'], nouns: ['Dumbbell Set', 'Yoga Mat', 'Resistance Band', 'Kettlebell', 'Jump Rope', 'Foam Roller', 'Pull-Up Bar', 'Gym Bag'], adjectives: ['Adjustable', 'Non-Slip', 'Heavy-Duty', 'Eco-Friendly', 'Portable', 'Cushioned'], brands: ['Ironform', 'Flexa', 'Pulsefit'] },
  { name: 'Building Toys', subcategories: ['Bricks', 'Construction', 'STEM'], nouns: ['Brick Set', 'Castle Kit', 'Robot Kit', 'Marble Run', 'Bridge Set', 'Gear Set', 'Space Station', 'Train Set'], adjectives: ['Creative', 'Motorized', 'Classic', 'Deluxe', 'Magnetic', 'Educational'], brands: ['Blocktown', 'Buildwell', 'Tinkerly'] },
  { name: 'Dolls', subcategories: ['Fashion Dolls', 'Dollhouses', 'Accessories'], nouns: ['Fashion Doll', 'Dollhouse', 'Doll Outfit', 'Baby Doll', 'Doll Stroller', 'Tea Set', 'Pony Figure', 'Doll Closet'], adjectives: ['Pastel', 'Sparkly', 'Vintage', 'Poseable', 'Royal', 'Mini'], brands: ['Dollydream', 'Rosewood Toys', 'Petalpals'] },
  { name: 'Board Games', subcategories: ['Strategy', 'Family', 'Puzzles'], nouns: ['Strategy Game', 'Card Game', 'Jigsaw Puzzle', 'Chess Set', 'Dice Game', 'Trivia Game', 'Word Game', 'Party Game'], adjectives: ['Cooperative', 'Family', 'Travel', 'Collector', 'Classic', 'Expansion'], brands: ['Meeplemill', 'Cardinal Games', 'Puzzlecraft'] },
  { name: 'Kitchen', subcategories: ['Cookware', 'Baking', 'Utensils'], nouns: ['Frying Pan', 'Stock Pot', 'Baking Sheet', 'Mixing Bowl', 'Chef Knife', 'Spatula', 'Cutting Board', 'Whisk'], adjectives: ['Nonstick', 'Stainless', 'Cast-Iron', 'Silicone', 'Bamboo', 'Professional'], brands: ['Panforte', 'Cuisina', 'Hearthware'] },
  { name: 'Pet Supplies', subcategories: ['Dogs', 'Cats', 'Fish'], nouns: ['Dog Leash', 'Cat Tree', 'Pet Bed', 'Chew Toy', 'Litter Box', 'Aquarium Filter', 'Pet Bowl', 'Scratching Post'], adjectives: ['Durable', 'Washable', 'Orthopedic', 'Interactive', 'Odor-Control', 'Reflective'], brands: ['Pawsome', 'Whiskerly', 'Finnature'] },
  { name: 'Office', subcategories: ['Paper', 'Writing', 'Organisation'], nouns: ['Notebook', 'Gel Pen Set', 'Desk Organizer', 'Stapler', 'Sticky Notes', 'File Folder', 'Highlighter', 'Planner'], adjectives: ['Refillable', 'Recycled', 'Ergonomic', 'Dotted', 'Colorful', 'Premium'], brands: ['Inkwell', 'Deskly', 'Paperpoint'] },
];

const COLORS = ['Red', 'Blue', 'Black', 'White', 'Green', 'Rose', 'Silver', 'Navy', 'Teal', 'Amber'];

/** The planted structure behind a synthetic dataset (for tests and analysis). */
export interface SyntheticTruth {
  /** Category index of each item ([0] unused). */
  category: Uint32Array;
  /** Chain successor of each item ([0] unused). */
  successor: Uint32Array;
  /** 1 when the item's chain mixes categories. */
  crossChain: Uint8Array;
}

/** A synthetic dataset and its planted structure. */
export interface SyntheticResult {
  dataset: Dataset;
  truth: SyntheticTruth;
  config: SyntheticConfig;
}

/** Generates the dataset and returns the planted structure with it. */
export function generateSyntheticWithTruth(opts: Partial<SyntheticConfig> = {}): SyntheticResult {
  const cfg = parseConfig(SyntheticConfigSchema, opts, 'synthetic config');
  const rng = new SeededRandom(cfg.seed);
  const N = cfg.numItems;
  const C = cfg.numCategories;
  const cats = CATEGORIES.slice(0, C);

  // Items: balanced categories, shuffled so that ids carry no structure.
  const category = new Uint32Array(N + 1);
  const order = rng.shuffle(Array.from({ length: N }, (_, i) => i + 1));
  order.forEach((id, k) => {
    category[id] = k % C;
  });
  const items: ItemMeta[] = [{}];
  for (let id = 1; id <= N; id++) {
    const c = cats[category[id]!]!;
    const noun = rng.pick(c.nouns);
    const meta: ItemMeta = {
      title: `${rng.pick(c.adjectives)} ${rng.pick(COLORS)} ${noun} ${rng.range(1, 99)}`,
      categories: ['Synthetic Store', c.name, rng.pick(c.subcategories)],
      sourceId: `SYN${String(id).padStart(6, '0')}`,
    };
    // Some items lack a brand, as in real data; the title then starts with the noun phrase.
    if (rng.next() < 0.9) meta.brand = rng.pick(c.brands);
    if (meta.brand) meta.title = `${meta.brand} ${meta.title}`;
    items.push(meta);
  }

  // Popularity: Zipf-like over a random ranking of the items.
  const popRank = rng.shuffle(Array.from({ length: N }, (_, i) => i + 1));
  const weight = new Float64Array(N + 1);
  popRank.forEach((id, r) => {
    weight[id] = 1 / Math.pow(r + 1, 0.8);
  });
  const ids = Array.from({ length: N }, (_, i) => i + 1);
  const global = new WeightedSampler(ids, ids.map((id) => weight[id]!));
  const byCategory = cats.map((_, c) => {
    const members = ids.filter((id) => category[id] === c);
    return new WeightedSampler(members, members.map((id) => weight[id]!));
  });

  // Chains: cycles of about chainLength items, some of them crossing categories.
  const pools = cats.map((_, c) => rng.shuffle(ids.filter((id) => category[id] === c)));
  const successor = new Uint32Array(N + 1);
  const crossChain = new Uint8Array(N + 1);
  const nonEmpty = (except = -1) => pools.map((_, k) => k).filter((k) => pools[k]!.length > 0 && k !== except);
  let remaining = N;
  while (remaining > 0) {
    const cross = rng.next() < cfg.crossCategoryChains;
    const chain: number[] = [];
    let c = rng.pick(nonEmpty());
    while (chain.length < cfg.chainLength && remaining > 0) {
      if (cross && chain.length > 0) {
        // Each step of a cross chain moves to another category when one is left.
        const others = nonEmpty(c);
        if (others.length > 0) c = rng.pick(others);
      }
      // A within-category chain ends early when its category runs out.
      if (pools[c]!.length === 0) break;
      chain.push(pools[c]!.pop()!);
      remaining--;
    }
    chain.forEach((id, k) => {
      successor[id] = chain[(k + 1) % chain.length]!;
      crossChain[id] = cross && chain.length > 1 ? 1 : 0;
    });
  }

  // Users.
  const users: string[] = [];
  const sequences: Uint32Array[] = [];
  for (let u = 0; u < cfg.numUsers; u++) {
    const len = rng.range(cfg.minLength, cfg.maxLength);
    const favourite = rng.int(C);
    const seq = new Uint32Array(len);
    const seen = new Set<number>();
    let cur = rng.next() < 0.7 ? byCategory[favourite]!.sample(rng) : global.sample(rng);
    for (let p = 0; p < len; p++) {
      if (p > 0) {
        let next = 0;
        for (let attempt = 0; attempt < 8; attempt++) {
          const r = rng.next();
          if (r < cfg.followChain) {
            // Mostly the next chain item, sometimes one further (a skipped step).
            next = successor[cur]!;
            if (rng.next() < 0.3) next = successor[next]!;
          }
          else if (r < cfg.followChain + cfg.sameCategory) next = byCategory[category[cur]!]!.sample(rng);
          else next = rng.next() < 0.5 ? byCategory[favourite]!.sample(rng) : global.sample(rng);
          if (!seen.has(next)) break;
        }
        cur = next;
      }
      seq[p] = cur;
      seen.add(cur);
    }
    users.push(`u${u + 1}`);
    sequences.push(seq);
  }

  return {
    dataset: { name: `synthetic-s${cfg.seed}`, format: 'synthetic', numItems: N, users, sequences, items, skipped: [] },
    truth: { category, successor, crossChain },
    config: cfg,
  };
}

/** Generates the synthetic dataset (seeded, deterministic). */
export function generateSynthetic(opts: Partial<SyntheticConfig> = {}): Dataset {
  return generateSyntheticWithTruth(opts).dataset;
}
