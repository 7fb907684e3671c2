"""Pure tensor / numpy algorithms of mmwsss (no registry, no file IO)."""

from .affinity import (
    affinity_from_features,
    boundary_to_affinity,
    neighbor_offsets,
    neighbor_values,
    pair_indices,
    pair_label_masks,
    pair_sets,
    path_max,
    path_points,
    valid_pair_mask,
)
from .cam import cams_to_labels, max_normalize, multiscale_cam, strided_size
from .crf import CRF_PRESETS, dense_crf, dense_crf_labels
from .irn import irn_pair_losses, irn_semantic_labels
from .irn_instance import (
    cluster_centroids,
    displacement_to_centroids,
    instance_pseudo_labels,
)
from .psa import (
    affinity_pair_losses,
    downscale_labels,
    psa_semantic_labels,
)
from .random_walk import (
    apply_transition,
    dense_random_walk,
    dense_transition,
    random_walk,
    stencil_offsets,
    transition_weights,
)
from .seed_labels import (
    cam_seed_labels,
    crf_alpha_seed_labels,
    crf_seed_labels,
    ir_labels,
    psa_labels,
)

__all__ = [
    'CRF_PRESETS',
    'affinity_from_features',
    'affinity_pair_losses',
    'apply_transition',
    'boundary_to_affinity',
    'cams_to_labels',
    'cluster_centroids',
    'cam_seed_labels',
    'crf_alpha_seed_labels',
    'crf_seed_labels',
    'dense_crf',
    'dense_crf_labels',
    'dense_random_walk',
    'dense_transition',
    'displacement_to_centroids',
    'downscale_labels',
    'instance_pseudo_labels',
    'ir_labels',
    'irn_pair_losses',
    'irn_semantic_labels',
    'max_normalize',
    'multiscale_cam',
    'neighbor_offsets',
    'neighbor_values',
    'pair_indices',
    'pair_label_masks',
    'pair_sets',
    'path_max',
    'path_points',
    'psa_labels',
    'psa_semantic_labels',
    'random_walk',
    'stencil_offsets',
    'strided_size',
    'transition_weights',
    'valid_pair_mask',
]
