from .export import export_student, extract_student_state_dict, student_config

__all__ = ['export_student', 'extract_student_state_dict', 'student_config']
