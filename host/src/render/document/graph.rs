//! A diagram as a graph: edges by node index, the edges that close a cycle, each node's layer,
//! and the waypoints of arrows that span several layers, stacked within their layers.

use super::{Diagram, Node};

/// A diagram with edges by node index; edges naming an unknown node are dropped, and an id
/// used twice means its first node.
pub(super) struct Graph<'d> {
    pub(super) nodes: &'d [Node],
    pub(super) edges: Vec<Link<'d>>,
}

pub(super) struct Link<'d> {
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) label: &'d str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    Open,
    Done,
}

impl<'d> Graph<'d> {
    pub(super) fn new(diagram: &'d Diagram) -> Self {
        let index = |id: &str| diagram.nodes.iter().position(|n| n.id == id);
        let edges = diagram
            .edges
            .iter()
            .filter_map(|e| {
                Some(Link {
                    from: index(&e.from)?,
                    to: index(&e.to)?,
                    label: &e.label,
                })
            })
            .collect();
        Graph {
            nodes: &diagram.nodes,
            edges,
        }
    }

    /// For each edge, whether it closes a cycle: it leads back to a node on the current path of
    /// a depth-first search (self-loops included). Without these the graph has no cycle.
    fn closes_cycle(&self) -> Vec<bool> {
        let mut outgoing = vec![Vec::new(); self.nodes.len()];
        for (i, edge) in self.edges.iter().enumerate() {
            outgoing[edge.from].push(i);
        }
        let mut visit = vec![Visit::New; self.nodes.len()];
        let mut closing = vec![false; self.edges.len()];
        for root in 0..self.nodes.len() {
            if visit[root] != Visit::New {
                continue;
            }
            visit[root] = Visit::Open;
            let mut path = vec![(root, 0)];
            while let Some(top) = path.last_mut() {
                let (node, next) = *top;
                let Some(&edge) = outgoing[node].get(next) else {
                    visit[node] = Visit::Done;
                    path.pop();
                    continue;
                };
                top.1 += 1;
                let to = self.edges[edge].to;
                match visit[to] {
                    Visit::New => {
                        visit[to] = Visit::Open;
                        path.push((to, 0));
                    }
                    Visit::Open => closing[edge] = true,
                    Visit::Done => {}
                }
            }
        }
        closing
    }

    /// Each node's layer: its longest path from a source over the edges that close no cycle
    /// (taken in topological order, so each edge is looked at once). A node never reached keeps
    /// layer 0.
    fn layers(&self) -> Vec<usize> {
        let closing = self.closes_cycle();
        let forward: Vec<&Link> = self
            .edges
            .iter()
            .zip(&closing)
            .filter(|(_, closes)| !**closes)
            .map(|(edge, _)| edge)
            .collect();
        let mut waiting_for = vec![0usize; self.nodes.len()];
        for edge in &forward {
            waiting_for[edge.to] += 1;
        }
        let mut layer = vec![0; self.nodes.len()];
        let mut ready: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| waiting_for[n] == 0)
            .rev()
            .collect();
        while let Some(node) = ready.pop() {
            for edge in forward.iter().filter(|e| e.from == node) {
                layer[edge.to] = layer[edge.to].max(layer[node] + 1);
                waiting_for[edge.to] -= 1;
                if waiting_for[edge.to] == 0 {
                    ready.push(edge.to);
                }
            }
        }
        layer
    }
}

/// The places of a diagram's layout: its nodes first (at their own indices), then waypoints,
/// one in each layer an arrow crosses between its ends, so that the arrow runs between the
/// boxes of that layer rather than behind them.
pub(super) struct Slots {
    /// Each slot's layer.
    pub(super) layer: Vec<usize>,
    /// For each edge of the graph, the slots it runs through, from its start to its end.
    pub(super) paths: Vec<Vec<usize>>,
}

impl Slots {
    pub(super) fn new(graph: &Graph) -> Self {
        let mut layer = graph.layers();
        let mut paths = Vec::with_capacity(graph.edges.len());
        for link in &graph.edges {
            let (from, to) = (layer[link.from], layer[link.to]);
            let crossed: Vec<usize> = if from < to {
                (from + 1..to).collect()
            } else {
                (to + 1..from).rev().collect()
            };
            let mut path = vec![link.from];
            for crossed_layer in crossed {
                layer.push(crossed_layer);
                path.push(layer.len() - 1);
            }
            path.push(link.to);
            paths.push(path);
        }
        Slots { layer, paths }
    }

    /// Slots by layer, each layer top to bottom: the first as given, the others by the average
    /// position of their neighbours in the layer before (fewer crossing arrows).
    pub(super) fn columns(&self) -> Vec<Vec<usize>> {
        let count = self.layer.iter().max().map_or(0, |l| l + 1);
        let mut columns = vec![Vec::new(); count];
        for (slot, l) in self.layer.iter().enumerate() {
            columns[*l].push(slot);
        }
        let mut neighbours_before = vec![Vec::new(); self.layer.len()];
        for path in &self.paths {
            for pair in path.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if self.layer[a] < self.layer[b] {
                    neighbours_before[b].push(a);
                } else if self.layer[b] < self.layer[a] {
                    neighbours_before[a].push(b);
                }
            }
        }
        let mut position = vec![0.0_f32; self.layer.len()];
        for column in &mut columns {
            let len = column.len() as f32;
            let mut keyed: Vec<(f32, usize)> = column
                .iter()
                .enumerate()
                .map(|(at, &slot)| {
                    let before = &neighbours_before[slot];
                    let key = if before.is_empty() {
                        (at as f32 + 0.5) / len
                    } else {
                        before.iter().map(|b| position[*b]).sum::<f32>() / before.len() as f32
                    };
                    (key, slot)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            *column = keyed.into_iter().map(|(_, slot)| slot).collect();
            for (at, slot) in column.iter().enumerate() {
                position[*slot] = (at as f32 + 0.5) / len;
            }
        }
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::document::fixtures::{edge, evidence_flow, node};

    #[test]
    fn layers_follow_the_longest_path_and_survive_cycles() {
        let diagram = evidence_flow();
        let graph = Graph::new(&diagram);
        assert_eq!(graph.edges.len(), 5);
        assert_eq!(graph.layers(), [0, 1, 2, 3]);
        let cycle = Diagram {
            nodes: vec![node("a", "A", None), node("b", "B", None)],
            edges: vec![edge("a", "b", ""), edge("b", "a", ""), edge("a", "a", "")],
        };
        assert_eq!(Graph::new(&cycle).layers(), [0, 1]);
        // src -> store skips the collector's layer: a waypoint there, beside the collector.
        let slots = Slots::new(&graph);
        assert_eq!(slots.layer.len(), 4 + 1 + 1);
        assert_eq!(slots.paths[2], [0, 4, 2]);
        assert_eq!(slots.columns()[1].len(), 2);
    }
}
