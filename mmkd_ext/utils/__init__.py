from .checkpoint import (
    check_checkpoint_file,
    check_state_dict,
    extract_student_state_dict,
    is_remote,
    load_checkpoint_file,
    load_state_dict,
)
from .config import is_distill_config, iter_dataset_cfgs, pipeline_dataset
from .export import export_student, student_config
from .io import (
    file_sha256,
    json_dump_atomically,
    replace_atomically,
    torch_save_atomically,
)

__all__ = [
    'check_checkpoint_file', 'check_state_dict', 'export_student',
    'extract_student_state_dict', 'file_sha256', 'is_distill_config',
    'is_remote', 'iter_dataset_cfgs', 'json_dump_atomically',
    'load_checkpoint_file', 'load_state_dict', 'pipeline_dataset',
    'replace_atomically', 'student_config', 'torch_save_atomically'
]
