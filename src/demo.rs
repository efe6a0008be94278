//! Simulated social traffic for `chorus demo`: fictional brands and customers writing the kinds
//! of messages a care team sees (questions, complaints, urgent needs, praise, mentions, spam,
//! industry chatter) plus threads that move public → private → public and brand replies, so a
//! newcomer sees a live, ranked queue within seconds.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use chorus_core::ingest::normalized::{AccountRef, CustomerRef, NormalizedMessage};
use chorus_core::network::{Direction, Network, Visibility};

struct Brand {
    network: Network,
    id: &'static str,
    name: &'static str,
    handle: &'static str,
}

const BRANDS: &[Brand] = &[
    Brand { network: Network::X, id: "demo-skybridge-x", name: "@SkyBridgeAir", handle: "@SkyBridgeAir" },
    Brand { network: Network::Facebook, id: "demo-skybridge-fb", name: "SkyBridge Air", handle: "SkyBridge Air" },
    Brand { network: Network::X, id: "demo-nimbus-x", name: "@NimbusMobile", handle: "@NimbusMobile" },
    Brand { network: Network::Instagram, id: "demo-nimbus-ig", name: "nimbusmobile", handle: "@nimbusmobile" },
    Brand { network: Network::Whatsapp, id: "demo-nimbus-wa", name: "+44 20 7946 0000", handle: "Nimbus" },
];

const FIRST: &[&str] = &[
    "Alex", "Sam", "Priya", "Jordan", "Chen", "Fatima", "Liam", "Sofia", "Kwame", "Mia", "Noah", "Aisha", "Lucas",
    "Zoe", "Omar",
];
const LAST: &[&str] = &["Reid", "Patel", "Okafor", "Nguyen", "Garcia", "Smith", "Kowalski", "Haddad"];
const CITIES: &[&str] = &["Leeds", "Lisbon", "Glasgow", "Dublin", "Madrid", "Bristol", "Rome", "Berlin"];

/// Templates by family; `{b}` is the brand handle, `{n}` a number, `{c}` a city.
const QUESTIONS: &[&str] = &[
    "{b} how do I add a bag to booking {n}?",
    "{b} is there a way to change my plan without a fee?",
    "{b} what time does check-in open for flight SB{n}?",
    "{b} can you tell me why my bill went up this month?",
    "{b} where can I find my PUK code?",
];
const COMPLAINTS: &[&str] = &[
    "{b} 3 hours on hold and still no answer. Ridiculous.",
    "{b} worst experience ever, the staff at {c} were so rude",
    "{b} your app logs me out every time, absolutely useless",
    "{b} my bag never arrived in {c}, this is unacceptable",
];
const URGENT: &[&str] = &[
    "{b} my flight SB{n} was cancelled and I'm stranded in {c}, please help",
    "{b} I've been charged twice for order {n}!!",
    "{b} no signal at all in {c} since this morning, is there an outage?",
    "{b} locked out of my account and I need my boarding pass now",
];
const PRAISE: &[&str] = &[
    "{b} lovely crew on the {c} flight today, thank you!",
    "{b} great signal at the festival this weekend 🙌",
    "{b} thanks for sorting my upgrade so quickly, brilliant service",
];
const MENTIONS: &[&str] = &[
    "Heading to {c} with {b} tomorrow",
    "Switched to {b} last month, so far so good",
    "Reading about the new {b} routes to {c}",
];
const NOISE: &[&str] =
    &["{b} follow back for follow back #f4f", "{b} 😂😂", "{b} #giveaway win free flights, click here"];
const INDUSTRY: &[&str] =
    &["flights to {c} are so expensive this winter", "anyone else's phone signal terrible in {c} today?"];
const DM_DETAILS: &[&str] = &[
    "Booking reference is {n}, flying from {c}",
    "My account number is {n}, thanks for looking",
    "Order {n}, registered to my {c} address",
];
const THANKS: &[&str] = &["{b} all sorted thanks to your team, much appreciated!", "{b} problem solved, thank you"];
const BRAND_REPLIES: &[&str] = &[
    "Sorry to hear that! Please DM us your details and we'll look into it.",
    "Thanks for getting in touch, we're on it.",
    "Happy to help! Check your DMs.",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Question,
    Complaint,
    Urgent,
    Praise,
    Mention,
    Noise,
    Industry,
}

#[derive(Clone)]
struct Customer {
    id: String,
    handle: String,
    name: String,
    followers: i64,
}

/// One simulated message before it gets its id.
struct Draft {
    brand: usize,
    customer: usize,
    direction: Direction,
    visibility: Visibility,
    text: String,
    at: DateTime<Utc>,
    reply_to: Option<String>,
    addressed: bool,
}

/// A step of a public → private → public thread still to come.
struct Pending {
    due: u64,
    brand: usize,
    customer: usize,
    last_id: String,
    step: u8,
}

/// A deterministic (per seed) stream of simulated deliveries.
pub struct DemoTraffic {
    rng: StdRng,
    customers: Vec<Customer>,
    pending: Vec<Pending>,
    tick: u64,
    counter: u64,
    prefix: String,
}

impl DemoTraffic {
    /// A stream; different seeds give different ids, so runs never collide.
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let customers = (0..60)
            .map(|i| {
                let first = FIRST.choose(&mut rng).copied().unwrap_or("Alex");
                let last = LAST.choose(&mut rng).copied().unwrap_or("Reid");
                let followers =
                    if i % 15 == 0 { rng.random_range(50_000..500_000) } else { rng.random_range(10..3_000) };
                Customer {
                    id: format!("demo-cust-{seed}-{i}"),
                    handle: format!("@{}{}{}", first.to_lowercase(), last.to_lowercase(), i),
                    name: format!("{first} {last}"),
                    followers,
                }
            })
            .collect();
        Self { rng, customers, pending: Vec::new(), tick: 0, counter: 0, prefix: format!("demo-{seed:x}") }
    }

    fn fill(&mut self, template: &str, brand: usize) -> String {
        let n = self.rng.random_range(100..99_999);
        let city = CITIES.choose(&mut self.rng).copied().unwrap_or("Leeds");
        template.replace("{b}", BRANDS[brand].handle).replace("{n}", &n.to_string()).replace("{c}", city)
    }

    fn message(&mut self, d: Draft) -> NormalizedMessage {
        self.counter += 1;
        let Draft { brand, customer, direction, visibility, text, at, reply_to, addressed } = d;
        let b = &BRANDS[brand];
        let c = &self.customers[customer];
        NormalizedMessage {
            network: b.network,
            brand_account: AccountRef { id: b.id.to_owned(), name: Some(b.name.to_owned()) },
            customer: CustomerRef {
                id: c.id.clone(),
                handle: Some(c.handle.clone()),
                name: Some(c.name.clone()),
                followers: Some(c.followers),
            },
            direction,
            visibility,
            platform_message_id: format!("{}-{}", self.prefix, self.counter),
            in_reply_to: reply_to,
            text,
            sent_at: at,
            addressed_to_brand: addressed,
            language: None,
            origin: None,
        }
    }

    fn pick_family(&mut self) -> Family {
        const WEIGHTED: &[(Family, u32)] = &[
            (Family::Question, 25),
            (Family::Complaint, 18),
            (Family::Urgent, 12),
            (Family::Praise, 14),
            (Family::Mention, 12),
            (Family::Noise, 12),
            (Family::Industry, 7),
        ];
        let mut roll = self.rng.random_range(0..100);
        for (f, w) in WEIGHTED {
            if roll < *w {
                return *f;
            }
            roll -= w;
        }
        Family::Question
    }

    fn fresh(&mut self, at: DateTime<Utc>) -> Vec<NormalizedMessage> {
        let family = self.pick_family();
        let brand = self.rng.random_range(0..BRANDS.len());
        let customer = self.rng.random_range(0..self.customers.len());
        let private = BRANDS[brand].network == Network::Whatsapp || self.rng.random_bool(0.2);
        let visibility = if private { Visibility::Private } else { Visibility::Public };
        let (templates, addressed): (&[&str], bool) = match family {
            Family::Question => (QUESTIONS, true),
            Family::Complaint => (COMPLAINTS, true),
            Family::Urgent => (URGENT, true),
            Family::Praise => (PRAISE, true),
            Family::Mention => (MENTIONS, true),
            Family::Noise => (NOISE, true),
            Family::Industry => (INDUSTRY, false),
        };
        let template = templates.choose(&mut self.rng).copied().unwrap_or("{b} hello");
        let text = self.fill(template, brand);
        let visibility = if matches!(family, Family::Noise | Family::Industry | Family::Mention) {
            Visibility::Public
        } else {
            visibility
        };
        let first = self.message(Draft {
            brand,
            customer,
            direction: Direction::Inbound,
            visibility,
            text,
            at,
            reply_to: None,
            addressed,
        });
        let mut out = vec![first.clone()];
        // Complaints in public often move to private and back: schedule the next steps.
        if visibility == Visibility::Public
            && matches!(family, Family::Complaint | Family::Urgent)
            && self.rng.random_bool(0.5)
        {
            let due = self.tick + self.rng.random_range(2..6);
            self.pending.push(Pending { due, brand, customer, last_id: first.platform_message_id.clone(), step: 0 });
        } else if matches!(family, Family::Question) && self.rng.random_bool(0.3) {
            let reply = self.pick(BRAND_REPLIES);
            let later = at + Duration::seconds(self.rng.random_range(60..900));
            out.push(self.message(Draft {
                brand,
                customer,
                direction: Direction::Outbound,
                visibility,
                text: reply,
                at: later,
                reply_to: Some(first.platform_message_id),
                addressed: true,
            }));
        }
        out
    }

    fn pick(&mut self, list: &[&str]) -> String {
        list.choose(&mut self.rng).copied().unwrap_or_default().to_owned()
    }

    /// The next delivery at `now`: usually one message, sometimes a spike of several, plus any
    /// thread steps that have come due.
    pub fn next_batch(&mut self, now: DateTime<Utc>) -> Vec<NormalizedMessage> {
        self.tick += 1;
        let mut out = Vec::new();
        let due: Vec<Pending> = {
            let (due, keep): (Vec<Pending>, Vec<Pending>) =
                std::mem::take(&mut self.pending).into_iter().partition(|p| p.due <= self.tick);
            self.pending = keep;
            due
        };
        for p in due {
            match p.step {
                0 => {
                    // The brand asks for details in public…
                    let reply = self.pick(BRAND_REPLIES);
                    let r = self.message(Draft {
                        brand: p.brand,
                        customer: p.customer,
                        direction: Direction::Outbound,
                        visibility: Visibility::Public,
                        text: reply,
                        at: now,
                        reply_to: Some(p.last_id),
                        addressed: true,
                    });
                    // …the customer sends them privately.
                    let detail = self.pick(DM_DETAILS);
                    let detail = self.fill(&detail, p.brand);
                    let d = self.message(Draft {
                        brand: p.brand,
                        customer: p.customer,
                        direction: Direction::Inbound,
                        visibility: Visibility::Private,
                        text: detail,
                        at: now + Duration::seconds(30),
                        reply_to: None,
                        addressed: true,
                    });
                    let due = self.tick + self.rng.random_range(2..5);
                    self.pending.push(Pending {
                        due,
                        brand: p.brand,
                        customer: p.customer,
                        last_id: d.platform_message_id.clone(),
                        step: 1,
                    });
                    out.push(r);
                    out.push(d);
                }
                _ => {
                    // …and thanks the brand in public.
                    let thanks = self.pick(THANKS);
                    let text = self.fill(&thanks, p.brand);
                    out.push(self.message(Draft {
                        brand: p.brand,
                        customer: p.customer,
                        direction: Direction::Inbound,
                        visibility: Visibility::Public,
                        text,
                        at: now,
                        reply_to: None,
                        addressed: true,
                    }));
                }
            }
        }
        let spike = self.rng.random_bool(0.08);
        let n = if spike { self.rng.random_range(3..9) } else { 1 };
        for _ in 0..n {
            out.extend(self.fresh(now));
        }
        out
    }

    /// About thirty messages spread over the last two hours, oldest first, so the queue has
    /// depth and some SLA clocks are already running when the demo opens.
    pub fn backfill(&mut self, now: DateTime<Utc>) -> Vec<NormalizedMessage> {
        let mut out = Vec::new();
        for i in (1..=30i64).rev() {
            let at = now - Duration::minutes(i * 4);
            out.extend(self.fresh(at));
        }
        out.sort_by_key(|m| m.sent_at);
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_763_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn deterministic_and_unique() {
        let (mut a, mut b) = (DemoTraffic::new(7), DemoTraffic::new(7));
        assert_eq!(a.next_batch(t0()), b.next_batch(t0()));
        let mut ids = HashSet::new();
        let mut c = DemoTraffic::new(9);
        for i in 0..1000 {
            for m in c.next_batch(t0() + Duration::seconds(i)) {
                assert!(!m.platform_message_id.is_empty() && m.platform_message_id.len() <= 256);
                assert!(m.text.chars().count() <= 20_000 && !m.text.is_empty());
                assert!(ids.insert(m.platform_message_id.clone()), "duplicate id {}", m.platform_message_id);
            }
        }
        let other = DemoTraffic::new(10).next_batch(t0());
        assert!(other.iter().all(|m| !ids.contains(&m.platform_message_id)), "seeds do not collide");
    }

    #[test]
    fn threads_move_public_private_public() {
        let mut d = DemoTraffic::new(3);
        let mut all: Vec<NormalizedMessage> = Vec::new();
        for i in 0..500 {
            all.extend(d.next_batch(t0() + Duration::seconds(i)));
        }
        let by_id: HashMap<&str, &NormalizedMessage> =
            all.iter().map(|m| (m.platform_message_id.as_str(), m)).collect();
        let replies: Vec<&NormalizedMessage> = all.iter().filter(|m| m.in_reply_to.is_some()).collect();
        assert!(!replies.is_empty());
        for r in &replies {
            let parent = by_id.get(r.in_reply_to.as_deref().unwrap_or_default()).copied();
            let Some(parent) = parent else { panic!("reply to unknown id") };
            assert_eq!(parent.customer.id, r.customer.id);
            assert_eq!(parent.brand_account.id, r.brand_account.id);
        }
        let private_inbound =
            all.iter().filter(|m| m.visibility == Visibility::Private && m.direction == Direction::Inbound).count();
        assert!(private_inbound > 0);
        assert!(all.iter().any(|m| !m.addressed_to_brand), "industry chatter present");
        assert!(
            all.iter().any(|m| m.text.contains("follow back") || m.text.contains("giveaway") || m.text.contains("😂")),
            "noise present"
        );
    }

    #[test]
    fn backfill_is_past_and_ordered() {
        let mut d = DemoTraffic::new(5);
        let b = d.backfill(t0());
        assert!(b.len() >= 30);
        assert!(b.iter().all(|m| m.sent_at < t0() + Duration::minutes(20)));
        assert!(b.windows(2).all(|w| w[0].sent_at <= w[1].sent_at));
    }
}
